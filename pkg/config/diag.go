package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Pos is where something was written: a file and a 1-based line. Lines
// produced by a multi-line definition, ~SEQ or ~LST carry the position of
// the line that expanded them.
type Pos struct {
	File string
	Line int
}

// String prints "file:line", "file" when the line is unknown, or "" when
// nothing is known.
func (p Pos) String() string {
	switch {
	case p.File == "" && p.Line == 0:
		return ""
	case p.Line == 0:
		return p.File
	default:
		return p.File + ":" + strconv.Itoa(p.Line)
	}
}

// IsValid reports whether p names a place.
func (p Pos) IsValid() bool { return p.File != "" || p.Line != 0 }

// MarshalText prints the position as "file:line" (used by JSON output).
func (p Pos) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Severity tells an error, which makes a configuration invalid, from a
// warning, which does not.
type Severity uint8

const (
	SeverityError Severity = iota
	SeverityWarning
)

// String returns "error" or "warning".
func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	}
	return "severity(" + strconv.Itoa(int(s)) + ")"
}

// Diagnostic is one problem found in a configuration.
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	Msg      string
}

// String prints "file:line: message" for errors and
// "file:line: warning: message" for warnings.
func (d Diagnostic) String() string {
	var b strings.Builder
	if p := d.Pos.String(); p != "" {
		b.WriteString(p)
		b.WriteString(": ")
	}
	if d.Severity == SeverityWarning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Msg)
	return b.String()
}

// Error is String, so that a Diagnostic can be returned as an error.
func (d Diagnostic) Error() string { return d.String() }

// Diagnostics is every problem found in a configuration, in the order of
// the files (as they were opened) and their lines.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Errors returns the errors only.
func (ds Diagnostics) Errors() Diagnostics { return ds.filter(SeverityError) }

// Warnings returns the warnings only.
func (ds Diagnostics) Warnings() Diagnostics { return ds.filter(SeverityWarning) }

func (ds Diagnostics) filter(s Severity) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == s {
			out = append(out, d)
		}
	}
	return out
}

// String prints one diagnostic per line.
func (ds Diagnostics) String() string {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.String())
	}
	return b.String()
}

// Error is String, so that Diagnostics can be returned as an error.
func (ds Diagnostics) Error() string { return ds.String() }

// diagSink collects diagnostics while a configuration is read.
type diagSink struct {
	list      Diagnostics
	fileOrder map[string]int
}

func (s *diagSink) add(pos Pos, sev Severity, format string, args ...any) {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	s.list = append(s.list, Diagnostic{Pos: pos, Severity: sev, Msg: msg})
}

func (s *diagSink) errorf(pos Pos, format string, args ...any) {
	s.add(pos, SeverityError, format, args...)
}

func (s *diagSink) warnf(pos Pos, format string, args ...any) {
	s.add(pos, SeverityWarning, format, args...)
}

// noteFile records the order in which files were opened, which is the
// order diagnostics are sorted in.
func (s *diagSink) noteFile(name string) {
	if s.fileOrder == nil {
		s.fileOrder = map[string]int{}
	}
	if _, ok := s.fileOrder[name]; !ok {
		s.fileOrder[name] = len(s.fileOrder)
	}
}

// sorted returns the diagnostics ordered by file (in opening order), then
// line; diagnostics without a position come first; ties keep the order
// they were found in.
func (s *diagSink) sorted() Diagnostics {
	rank := func(f string) int {
		if f == "" {
			return -1
		}
		if r, ok := s.fileOrder[f]; ok {
			return r
		}
		return len(s.fileOrder)
	}
	out := append(Diagnostics(nil), s.list...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Pos, out[j].Pos
		ra, rb := rank(a.File), rank(b.File)
		if ra != rb {
			return ra < rb
		}
		if ra == len(s.fileOrder) && a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return out
}
