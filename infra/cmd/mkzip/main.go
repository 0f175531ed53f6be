// Command mkzip writes a reproducible zip: entries in name order, a fixed
// modification time, Unix modes reduced to 0755 (executable) or 0644, and
// nothing from the environment (no user, no time, no absolute path), so the
// same files give the same bytes on every machine. `make package` uses it for
// the Lambda and SCF deployment zips.
//
//	mkzip -o build/package/aws/callback.zip bootstrap=build/lambda/callback/bootstrap
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/siyuhq/siyu/infra/cmd/mkzip/detzip"
)

func main() {
	out := flag.String("o", "", "zip file to write")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: mkzip -o OUT.zip NAME=PATH...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	entries, err := detzip.ParseEntries(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkzip:", err)
		os.Exit(2)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "mkzip:", err)
		os.Exit(1)
	}
	sum, err := detzip.WriteFile(*out, entries)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkzip:", err)
		os.Exit(1)
	}
	fmt.Printf("%-36s %8s  (unpacked %s)  sha256 %s\n", *out, detzip.Size(sum.Zipped), detzip.Size(sum.Unpacked), sum.SHA256[:16])
}
