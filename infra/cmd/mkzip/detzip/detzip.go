// Package detzip writes deterministic zip archives for deployment packages.
package detzip

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"
)

// Epoch is every entry's modification time: the earliest a zip's MS-DOS
// date can hold, so tools never see a date "before" the format.
var Epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Entry is one file: its name in the archive and where to read it.
type Entry struct {
	Name string
	Path string
}

// ParseEntries reads NAME=PATH arguments (a bare PATH keeps its base name).
func ParseEntries(args []string) ([]Entry, error) {
	var out []Entry
	for _, a := range args {
		name, p, ok := strings.Cut(a, "=")
		if !ok {
			name, p = path.Base(a), a
		}
		if name == "" || p == "" {
			return nil, fmt.Errorf("entry %q: want NAME=PATH", a)
		}
		out = append(out, Entry{Name: name, Path: p})
	}
	return out, nil
}

// Summary describes a written archive.
type Summary struct {
	Zipped   int64
	Unpacked int64
	SHA256   string
}

// Write writes entries to w as a zip, sorted by name, with fixed times and
// modes 0755 (any execute bit set on the source) or 0644.
func Write(w io.Writer, entries []Entry) (unpacked int64, err error) {
	entries = slices.Clone(entries)
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(entries); i++ {
		if entries[i].Name == entries[i-1].Name {
			return 0, fmt.Errorf("entry %q given twice", entries[i].Name)
		}
	}
	zw := zip.NewWriter(w)
	for _, e := range entries {
		if strings.HasPrefix(e.Name, "/") || slices.Contains(strings.Split(e.Name, "/"), "..") {
			return 0, fmt.Errorf("entry %q: names must be relative", e.Name)
		}
		n, err := add(zw, e)
		if err != nil {
			return 0, err
		}
		unpacked += n
	}
	if err := zw.Close(); err != nil {
		return 0, fmt.Errorf("closing zip: %w", err)
	}
	return unpacked, nil
}

func add(zw *zip.Writer, e Entry) (int64, error) {
	f, err := os.Open(e.Path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if !st.Mode().IsRegular() {
		return 0, fmt.Errorf("%s: not a regular file", e.Path)
	}
	mode := os.FileMode(0o644)
	if st.Mode()&0o111 != 0 {
		mode = 0o755
	}
	h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate, Modified: Epoch}
	h.SetMode(mode)
	dst, err := zw.CreateHeader(h)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", e.Name, err)
	}
	n, err := io.Copy(dst, f)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", e.Name, err)
	}
	return n, nil
}

// WriteFile writes the archive to name atomically (a temporary file renamed
// into place) and returns its size and digest.
func WriteFile(name string, entries []Entry) (Summary, error) {
	var buf bytes.Buffer
	unpacked, err := Write(&buf, entries)
	if err != nil {
		return Summary{}, err
	}
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return Summary{}, err
	}
	if err := os.Rename(tmp, name); err != nil {
		return Summary{}, errors.Join(err, os.Remove(tmp))
	}
	sum := sha256.Sum256(buf.Bytes())
	return Summary{Zipped: int64(buf.Len()), Unpacked: unpacked, SHA256: hex.EncodeToString(sum[:])}, nil
}

// Size formats n bytes for people.
func Size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
