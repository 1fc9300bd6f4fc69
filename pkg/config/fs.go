package config

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// fileSystem is where configuration files and includes are read from: the
// operating system's files, or an fs.FS given in Options (tests).
type fileSystem interface {
	readFile(name string) ([]byte, error)
	glob(pattern string) ([]string, error)
	stat(name string) (fs.FileInfo, error)
	// resolve names an included file: absolute, or relative to dir.
	resolve(dir, name string) string
	dir(name string) string
	// key names a file for include-loop detection.
	key(name string) string
	// pwd is the value of ${_PWD} while name is being read.
	pwd(name string) string
}

type osFS struct{}

func (osFS) readFile(name string) ([]byte, error)  { return os.ReadFile(name) }
func (osFS) glob(pattern string) ([]string, error) { return filepath.Glob(pattern) }
func (osFS) stat(name string) (fs.FileInfo, error) { return os.Stat(name) }
func (osFS) dir(name string) string                { return filepath.Dir(name) }
func (osFS) resolve(dir, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(dir, name)
}
func (osFS) key(name string) string { return absOrClean(name) }
func (osFS) pwd(name string) string { return filepath.Dir(absOrClean(name)) }
func absOrClean(name string) string {
	if a, err := filepath.Abs(name); err == nil {
		return a
	}
	return filepath.Clean(name)
}

// ioFS reads from an fs.FS: names are slash-separated and unrooted, as
// io/fs wants them.
type ioFS struct{ fsys fs.FS }

func (f ioFS) readFile(name string) ([]byte, error)  { return fs.ReadFile(f.fsys, name) }
func (f ioFS) glob(pattern string) ([]string, error) { return fs.Glob(f.fsys, pattern) }
func (f ioFS) stat(name string) (fs.FileInfo, error) { return fs.Stat(f.fsys, name) }
func (ioFS) dir(name string) string                  { return path.Dir(name) }

// resolve maps an absolute name to the root of the fs.FS.
func (ioFS) resolve(dir, name string) string {
	if path.IsAbs(name) {
		return strings.TrimLeft(path.Clean(name), "/")
	}
	return path.Join(dir, name)
}
func (ioFS) key(name string) string { return path.Clean(name) }
func (ioFS) pwd(name string) string { return path.Dir(path.Clean(name)) }
