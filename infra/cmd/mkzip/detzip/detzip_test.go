package detzip_test

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/siyuhq/siyu/infra/cmd/mkzip/detzip"
)

func writeFile(t *testing.T, dir, name, body string, mode os.FileMode, mtime time.Time) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask-proof
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return p
}

func zipBytes(t *testing.T, entries []detzip.Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := detzip.Write(&buf, entries); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSameFilesGiveSameBytes(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	t1 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	t2 := time.Now()
	// The same content written at different times, with different
	// permissions beyond the execute bit, listed in different orders.
	ea := []detzip.Entry{
		{Name: "bootstrap", Path: writeFile(t, a, "bootstrap", "binary", 0o755, t1)},
		{Name: "README", Path: writeFile(t, a, "README", "text", 0o644, t1)},
	}
	eb := []detzip.Entry{
		{Name: "README", Path: writeFile(t, b, "README", "text", 0o600, t2)},
		{Name: "bootstrap", Path: writeFile(t, b, "bootstrap", "binary", 0o700, t2)},
	}
	if !bytes.Equal(zipBytes(t, ea), zipBytes(t, eb)) {
		t.Fatal("the same files packed twice gave different archives")
	}
}

func TestArchiveContents(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	data := zipBytes(t, []detzip.Entry{
		{Name: "main", Path: writeFile(t, dir, "m", "scf binary", 0o755, now)},
		{Name: "conf/app.json", Path: writeFile(t, dir, "c", "{}", 0o644, now)},
	})
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		wantMode os.FileMode
		wantBody string
	}{
		{"conf/app.json", 0o644, "{}"},
		{"main", 0o755, "scf binary"},
	}
	if len(zr.File) != len(tests) {
		t.Fatalf("archive has %d entries, want %d", len(zr.File), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.name+" is stored in name order with its mode and a fixed time", func(t *testing.T) {
			f := zr.File[i]
			if f.Name != tt.name {
				t.Fatalf("entry %d = %q, want %q", i, f.Name, tt.name)
			}
			if f.Mode().Perm() != tt.wantMode {
				t.Errorf("mode = %v, want %v", f.Mode().Perm(), tt.wantMode)
			}
			if !f.Modified.Equal(detzip.Epoch) {
				t.Errorf("modified = %v, want %v", f.Modified, detzip.Epoch)
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			body, _ := io.ReadAll(rc)
			if string(body) != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
		})
	}
}

func TestRefusedEntries(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "f", "x", 0o644, time.Now())
	tests := []struct {
		name    string
		entries []detzip.Entry
	}{
		{"a name given twice", []detzip.Entry{{"a", p}, {"a", p}}},
		{"an absolute name", []detzip.Entry{{"/etc/passwd", p}}},
		{"a name climbing out", []detzip.Entry{{"../x", p}}},
		{"a missing file", []detzip.Entry{{"a", filepath.Join(dir, "nope")}}},
		{"a directory", []detzip.Entry{{"a", dir}}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			if _, err := detzip.Write(io.Discard, tt.entries); err == nil {
				t.Error("Write succeeded")
			}
		})
	}
}

func TestParseEntries(t *testing.T) {
	got, err := detzip.ParseEntries([]string{"bootstrap=build/lambda/api/bootstrap", "build/scf/api/main"})
	if err != nil {
		t.Fatal(err)
	}
	want := []detzip.Entry{{"bootstrap", "build/lambda/api/bootstrap"}, {"main", "build/scf/api/main"}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ParseEntries = %v, want %v", got, want)
	}
}
