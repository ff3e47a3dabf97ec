//go:build !unix

package journal

import "os"

// lockFile only creates the lock file: there is no advisory lock on this platform.
func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
}
