//go:build !unix

package importer

import (
	"bytes"
	"io"
	"os"
)

// readFile reads the file at path into buf[:0], growing it as needed, and stops after
// limit+1 bytes.
func readFile(path string, buf []byte, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf[:0], err
	}
	defer f.Close()
	b := bytes.NewBuffer(buf[:0])
	_, err = io.Copy(b, io.LimitReader(f, limit+1))
	return b.Bytes(), err
}
