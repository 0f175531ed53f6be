package wecom

import (
	"strings"
	"testing"
)

// event1KiB is an add_external_contact padded with a long State to ~1 KiB,
// the size of a typical callback with a channel-carrying state.
var event1KiB = []byte("<xml>\n" +
	"\t<ToUserName><![CDATA[" + vecCorp + "]]></ToUserName>\n" +
	"\t<FromUserName><![CDATA[sys]]></FromUserName>\n" +
	"\t<CreateTime>1403610513</CreateTime>\n" +
	"\t<MsgType><![CDATA[event]]></MsgType>\n" +
	"\t<Event><![CDATA[change_external_contact]]></Event>\n" +
	"\t<ChangeType><![CDATA[add_external_contact]]></ChangeType>\n" +
	"\t<UserID><![CDATA[zhangsan]]></UserID>\n" +
	"\t<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mAAAA]]></ExternalUserID>\n" +
	"\t<State><![CDATA[" + strings.Repeat("channel-", 80) + "]]></State>\n" +
	"\t<WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode>\n" +
	"</xml>")

// BenchmarkDecode1KiB is the callback hot path: verify the signature,
// decrypt, and parse the event.
func BenchmarkDecode1KiB(b *testing.B) {
	c := newVectorCrypter(b, vecCorp)
	body, sig, err := c.Seal(event1KiB, "1700000000", "42")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(event1KiB)))
	for b.Loop() {
		msg, err := c.Open(sig, "1700000000", "42", body)
		if err != nil {
			b.Fatal(err)
		}
		ev, err := ParseEvent(msg)
		if err != nil || !ev.Known {
			b.Fatal(ev, err)
		}
	}
}

func BenchmarkOpen1KiB(b *testing.B) {
	c := newVectorCrypter(b, vecCorp)
	body, sig, err := c.Seal(event1KiB, "1700000000", "42")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := c.Open(sig, "1700000000", "42", body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseEvent1KiB(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(event1KiB)))
	for b.Loop() {
		if _, err := ParseEvent(event1KiB); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseEventEncodingXML is the baseline the flat reader replaces.
func BenchmarkParseEventEncodingXML(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(event1KiB)))
	for b.Loop() {
		if _, err := stdlibEvent(event1KiB); err != nil {
			b.Fatal(err)
		}
	}
}
