// Package config reads keepalived's configuration language into a typed,
// validated model: the grammar (blocks, comments, quoted strings, include
// with globs, $NAME definitions, @id conditional lines, ~SEQ and ~LST), a
// struct for every block keepalived documents with keepalived's defaults,
// and keepalived's validation rules. Problems come back as Diagnostics
// printed "file:line: message"; nothing in this package panics on any
// input.
package config

import (
	"io/fs"
	"os"
	"strings"
	"time"
)

// Options controls how a configuration is read.
type Options struct {
	// ConfigID selects "@id" / "@^id" conditional lines, like keepalived's
	// -i/--config-id. Empty means the host name up to its first dot, as
	// keepalived does.
	ConfigID string
	// FS, when set, is where the configuration and its includes are read
	// from (names are slash-separated and relative, as io/fs wants);
	// otherwise the operating system's files are read.
	FS fs.FS
	// RandomSeed seeds ${_RANDOM}; zero picks a seed from the clock, as
	// keepalived does without random_seed.
	RandomSeed uint64
	// MaxLines bounds the lines a configuration may expand to (~SEQ, ~LST,
	// definitions); zero means 5,000,000.
	MaxLines int
}

func (o Options) fileSystem() fileSystem {
	if o.FS != nil {
		return ioFS{fsys: o.FS}
	}
	return osFS{}
}

func (o Options) configID() string {
	if o.ConfigID != "" {
		return o.ConfigID
	}
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	h, _, _ = strings.Cut(h, ".")
	return h
}

func (o Options) seed() uint64 {
	if o.RandomSeed != 0 {
		return o.RandomSeed
	}
	return uint64(time.Now().UnixNano())
}

// Load reads the configuration file at path, with its includes, and
// returns the model and every problem found. The Config is nil only when
// path itself cannot be read; when the diagnostics have errors, the Config
// is incomplete and must not be run.
func Load(path string, opts Options) (*Config, Diagnostics) {
	diag := &diagSink{}
	p := newPreproc(opts.fileSystem(), diag, opts.configID(), opts.seed(), opts.MaxLines)
	if !p.openFile(path, 0, Pos{File: path}, true) {
		return nil, diag.sorted()
	}
	return finish(p, diag), diag.sorted()
}

// Parse reads a configuration from memory; name is used in positions and
// as the base of relative includes (read as Load reads them).
func Parse(name string, data []byte, opts Options) (*Config, Diagnostics) {
	diag := &diagSink{}
	fsys := opts.fileSystem()
	p := newPreproc(fsys, diag, opts.configID(), opts.seed(), opts.MaxLines)
	diag.noteFile(name)
	p.files = append(p.files, name)
	lines := strings.Split(string(data), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, "\r")
	}
	p.push(&fileSource{name: name, dir: fsys.dir(name), key: fsys.key(name), lines: lines}, Pos{File: name})
	return finish(p, diag), diag.sorted()
}

// finish runs the stages after the files are open: preprocessing, block
// structure, decoding, defaults, validation, and the warnings for what lbd
// does not implement yet.
func finish(p *preproc, diag *diagSink) *Config {
	p.run()
	nodes := buildTree(p.out, diag)
	c := &Config{}
	d := &decoder{diag: diag, cfg: c}
	decodeBlock(d, &rootSpec, "", nodes, c)
	c.Files = p.files
	applyDefaults(c, diag)
	validate(c, diag)
	unimplementedWarnings(c.Keywords, diag)
	return c
}
