package config

import (
	"io/fs"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// The preprocessor turns configuration files into a flat list of lines of
// words, doing what keepalived does before any keyword is looked at:
// comments, "@id" / "@^id" conditional lines, "$NAME=value" definitions
// (also multi-line ones) and their substitution, ~SEQ / ~SEQx / ~LST
// repetition, include / includer / includem / includew / includeb /
// includea, and cutting lines at braces.

const (
	maxIncludeDepth  = 32       // files open at once (keepalived has no limit but the fd limit)
	maxSourceDepth   = 1024     // nested multi-line expansions and sequences
	maxSubstitutions = 256      // $NAME replacements on one line
	maxLineLen       = 1 << 16  // bytes on one line after substitution
	maxBraceAlts     = 1024     // alternatives of one {a,b} include pattern
	maxLineWork      = 2 << 20  // bytes written by substitution on one line
	maxSubstBytes    = 64 << 20 // bytes written by substitution in all
	defaultMaxLines  = 5_000_000
)

// line is one line after preprocessing: its words, or a lone brace.
type line struct {
	pos   Pos
	words []string
	brace byte // '{' or '}' when the line is a brace; words is nil then
}

// definition is a $NAME=value parameter.
type definition struct {
	lines     []string // one line, or the lines of a multi-line definition
	multiline bool
	// fn computes a predefined value (${_RANDOM MIN MAX}); maxParams is how
	// many numeric parameters it takes.
	fn        func(params []int64) string
	maxParams int
}

// includeChecks are keepalived's include_check settings.
type includeChecks uint8

const (
	checkReadable includeChecks = 1 << iota
	checkMatch
	checkWildcardMatch
	checkBraceMatch

	checkAll = checkReadable | checkMatch | checkWildcardMatch | checkBraceMatch
)

// source yields raw lines: from a file, from a multi-line definition being
// expanded, or from a ~SEQ / ~LST repetition.
type source interface {
	// next returns the next line; raw lines (from files) still need
	// decommenting. ok is false when the source is exhausted.
	next() (text string, pos Pos, raw, ok bool)
}

type fileSource struct {
	name   string
	dir    string
	key    string
	lines  []string
	idx    int
	checks includeChecks
}

func (f *fileSource) next() (string, Pos, bool, bool) {
	if f.idx >= len(f.lines) {
		return "", Pos{}, false, false
	}
	f.idx++
	return f.lines[f.idx-1], Pos{File: f.name, Line: f.idx}, true, true
}

type multiSource struct {
	lines []string
	idx   int
	pos   Pos
}

func (m *multiSource) next() (string, Pos, bool, bool) {
	if m.idx >= len(m.lines) {
		return "", Pos{}, false, false
	}
	m.idx++
	return m.lines[m.idx-1], m.pos, false, true
}

// seqSource repeats text, setting its variables before each repetition.
type seqSource struct {
	p    *preproc
	text string
	pos  Pos
	vars []string
	// ~SEQ
	cur, step, last int64
	hex, done       bool
	// ~LST (vals != nil)
	vals [][]string
	idx  int
}

func (s *seqSource) next() (string, Pos, bool, bool) {
	if s.vals != nil {
		if s.idx >= len(s.vals) {
			return "", Pos{}, false, false
		}
		for i, v := range s.vars {
			val := ""
			if i < len(s.vals[s.idx]) {
				val = s.vals[s.idx][i]
			}
			s.p.define(v, []string{val}, false)
		}
		s.idx++
		return s.text, s.pos, false, true
	}
	if s.done {
		return "", Pos{}, false, false
	}
	val := strconv.FormatInt(s.cur, 10)
	if s.hex {
		val = strconv.FormatInt(s.cur, 16)
	}
	s.p.define(s.vars[0], []string{val}, false)
	switch {
	case s.step > 0 && s.cur > math.MaxInt64-s.step, s.step < 0 && s.cur < math.MinInt64-s.step:
		s.done = true
	default:
		s.cur += s.step
		s.done = s.step > 0 && s.cur > s.last || s.step < 0 && s.cur < s.last
	}
	return s.text, s.pos, false, true
}

// includeSource opens the files an include line matched, one after the
// other (each is read to its end before the next is opened).
type includeSource struct {
	files  []string
	idx    int
	pos    Pos
	checks includeChecks
}

func (*includeSource) next() (string, Pos, bool, bool) { return "", Pos{}, false, false }

type preproc struct {
	fs       fileSystem
	diag     *diagSink
	configID string
	rnd      *rand.Rand
	maxLines int

	defs    map[string]*definition
	stack   []source
	out     []line
	files   []string // every file read, in order
	aborted bool
	// read counts the lines taken from all sources; past twice maxLines
	// the configuration is abandoned (this bounds repetitions that emit
	// nothing, such as nested ~SEQ of definitions).
	read int
	// substBytes counts the bytes substitution wrote, against
	// maxSubstBytes.
	substBytes int
}

func newPreproc(fsys fileSystem, diag *diagSink, configID string, seed uint64, maxLines int) *preproc {
	if maxLines <= 0 {
		maxLines = defaultMaxLines
	}
	p := &preproc{
		fs:       fsys,
		diag:     diag,
		configID: configID,
		rnd:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		maxLines: maxLines,
		defs:     map[string]*definition{},
	}
	p.defs["_INSTANCE"] = &definition{lines: []string{configID}}
	p.defs["_HASH"] = &definition{lines: []string{"#"}}
	p.defs["_BANG"] = &definition{lines: []string{"!"}}
	p.defs["_PWD"] = &definition{fn: func([]int64) string { return p.pwd() }}
	p.defs["_RANDOM"] = &definition{maxParams: 2, fn: p.random}
	return p
}

func (p *preproc) random(params []int64) string {
	lo, hi := int64(0), int64(32767)
	if len(params) > 0 {
		lo = params[0]
	}
	if len(params) > 1 {
		hi = params[1]
	}
	if hi < lo || hi-lo == math.MaxInt64 { // params are >= 0: hi-lo cannot overflow, hi-lo+1 can
		return strconv.FormatInt(lo, 10)
	}
	return strconv.FormatInt(lo+p.rnd.Int64N(hi-lo+1), 10)
}

// currentFile is the innermost file being read, or nil.
func (p *preproc) currentFile() *fileSource {
	for i := len(p.stack) - 1; i >= 0; i-- {
		if f, ok := p.stack[i].(*fileSource); ok {
			return f
		}
	}
	return nil
}

func (p *preproc) pwd() string {
	if f := p.currentFile(); f != nil {
		return p.fs.pwd(f.name)
	}
	return ""
}

func (p *preproc) define(name string, lines []string, multiline bool) {
	p.defs[name] = &definition{lines: lines, multiline: multiline}
}

// push adds a source on top; false (with an error reported) when the
// nesting is too deep.
func (p *preproc) push(s source, pos Pos) bool {
	if len(p.stack) >= maxSourceDepth {
		p.diag.errorf(pos, "definitions, ~SEQ and includes nested deeper than %d", maxSourceDepth)
		return false
	}
	p.stack = append(p.stack, s)
	return true
}

// openFile reads name and pushes it as the next file to read.
func (p *preproc) openFile(name string, checks includeChecks, pos Pos, required bool) bool {
	data, err := p.fs.readFile(name)
	if err != nil {
		if required {
			p.diag.errorf(pos, "read %s: %v", name, unwrapPathErr(err))
		} else {
			p.diag.warnf(pos, "include: cannot read %s: %v; skipped", name, unwrapPathErr(err))
		}
		return false
	}
	p.diag.noteFile(name)
	p.files = append(p.files, name)
	text := string(data)
	lines := strings.Split(text, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, "\r")
	}
	return p.push(&fileSource{name: name, dir: p.fs.dir(name), key: p.fs.key(name), lines: lines, checks: checks}, pos)
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// run reads every line of every source.
func (p *preproc) run() {
	for len(p.stack) > 0 && !p.aborted {
		top := p.stack[len(p.stack)-1]
		if inc, ok := top.(*includeSource); ok {
			p.openNextInclude(inc)
			continue
		}
		text, pos, raw, ok := top.next()
		if !ok {
			p.stack = p.stack[:len(p.stack)-1]
			continue
		}
		if p.read++; p.read > 2*p.maxLines {
			p.diag.errorf(pos, "configuration expands to more than %d lines; stopped reading", 2*p.maxLines)
			p.aborted = true
			return
		}
		if raw {
			text, _, _ = decomment(text)
		}
		if text == "" {
			continue
		}
		p.handle(text, pos, top)
	}
}

// handle processes one decommented, non-empty line coming from src.
func (p *preproc) handle(text string, pos Pos, src source) {
	budget := maxSubstitutions // $NAME replacements left for this line
	for {
		if text[0] == '@' {
			var keep bool
			if text, keep = p.conditional(text); !keep {
				return
			}
		}
		if text[0] == '$' {
			if name, value, ok := parseDefinition(text); ok {
				p.readDefinition(name, value, pos, src)
				return
			}
		}
		if strings.HasPrefix(text, "~SEQ") || strings.HasPrefix(text, "~LST") {
			p.startSequence(text, pos)
			return
		}
		if text[0] == '~' || !strings.Contains(text, "$") {
			break
		}
		var changed bool
		text, changed = p.substitute(text, pos, &budget)
		if !changed || text == "" {
			break
		}
		if text[0] != '@' && !strings.Contains(text, "$") {
			break
		}
	}
	text = strings.TrimLeft(text, " \t")
	if text == "" {
		return
	}
	if p.include(text, pos) {
		return
	}
	p.emit(text, pos)
}

// conditional applies an "@id" or "@^id" prefix: keep reports whether the
// rest of the line applies to this config id.
func (p *preproc) conditional(text string) (rest string, keep bool) {
	neg := strings.HasPrefix(text, "@^")
	id := text[1:]
	if neg {
		id = text[2:]
	}
	sp := strings.IndexAny(id, " \t")
	if sp < 0 {
		return "", false // nothing after the id
	}
	match := p.configID != "" && id[:sp] == p.configID
	if match == neg {
		return "", false
	}
	rest = strings.TrimLeft(id[sp:], " \t")
	return rest, rest != ""
}

func isNameStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isNameChar(c byte) bool  { return isNameStart(c) || c >= '0' && c <= '9' }

// parseDefinition recognises "$NAME=value" (no blank before '=').
func parseDefinition(text string) (name, value string, ok bool) {
	if len(text) < 3 || text[0] != '$' || !isNameStart(text[1]) {
		return "", "", false
	}
	i := 2
	for i < len(text) && isNameChar(text[i]) {
		i++
	}
	if i >= len(text) || text[i] != '=' {
		return "", "", false
	}
	return text[1:i], strings.TrimLeft(text[i+1:], " \t"), true
}

// readDefinition stores a definition; a value ending in '\' continues on
// the following lines of the same source, up to a line that does not end
// in '\' (included) or an empty line (not included).
func (p *preproc) readDefinition(name, value string, pos Pos, src source) {
	if !strings.HasSuffix(value, `\`) {
		p.define(name, []string{value}, false)
		return
	}
	var lines []string
	if first := strings.TrimRight(strings.TrimSuffix(value, `\`), " \t"); first != "" {
		lines = append(lines, first)
	}
	for {
		text, _, raw, ok := src.next()
		if !ok {
			break
		}
		if raw {
			text, _, _ = decomment(text)
		}
		if text == "" {
			break
		}
		if strings.HasSuffix(text, `\`) {
			if t := strings.TrimRight(strings.TrimSuffix(text, `\`), " \t"); t != "" {
				lines = append(lines, t)
			}
			continue
		}
		lines = append(lines, text)
		break
	}
	if len(lines) == 0 {
		p.define(name, []string{""}, false)
		return
	}
	p.define(name, lines, true)
}

// substitute replaces $NAME and ${NAME} references once through the line
// (replacement text is scanned again, so references nest). A multi-line
// definition may only be referenced at the end of a line: its first line
// replaces the reference and its other lines are read next.
func (p *preproc) substitute(text string, pos Pos, budget *int) (string, bool) {
	changed := false
	work := 0
	i := 0
	for i < len(text) {
		j := strings.IndexByte(text[i:], '$')
		if j < 0 {
			break
		}
		i += j
		def, params, end, ok := p.reference(text, i)
		if !ok {
			i++
			continue
		}
		if *budget--; *budget < 0 {
			p.diag.errorf(pos, "parameter substitution does not terminate")
			return "", true
		}
		var value string
		switch {
		case def.fn != nil:
			value = def.fn(params)
		case def.multiline:
			value = def.lines[0]
			if len(def.lines) > 1 {
				if !p.push(&multiSource{lines: def.lines[1:], pos: pos}, pos) {
					return "", true
				}
			}
		default:
			value = strings.Join(def.lines, " ")
		}
		if len(text)-(end-i)+len(value) > maxLineLen {
			p.diag.errorf(pos, "parameter substitution makes the line longer than %d bytes", maxLineLen)
			return "", true
		}
		text = text[:i] + value + text[end:]
		changed = true
		work += len(text)
		p.substBytes += len(text)
		if work > maxLineWork {
			p.diag.errorf(pos, "parameter substitution does not terminate")
			return "", true
		}
		if p.substBytes > maxSubstBytes {
			p.diag.errorf(pos, "parameter substitution writes more than %d bytes; stopped reading", maxSubstBytes)
			p.aborted = true
			return "", true
		}
		if t := strings.TrimLeft(value, " \t"); strings.HasPrefix(t, "~") {
			break
		}
	}
	return text, changed
}

// reference recognises a defined $NAME, ${NAME} or ${NAME params} at
// text[i] ('$'). end is the index after the reference.
func (p *preproc) reference(text string, i int) (def *definition, params []int64, end int, ok bool) {
	start := i + 1
	braces := start < len(text) && text[start] == '{'
	if braces {
		start++
	}
	if start >= len(text) || !isNameStart(text[start]) {
		return nil, nil, 0, false
	}
	e := start + 1
	for e < len(text) && isNameChar(text[e]) {
		e++
	}
	name := text[start:e]
	if braces {
		ps := e
		for e < len(text) && (text[e] == ' ' || text[e] >= '0' && text[e] <= '9') {
			e++
		}
		if e >= len(text) || text[e] != '}' {
			return nil, nil, 0, false
		}
		if raw := text[ps:e]; strings.TrimSpace(raw) != "" {
			if strings.HasSuffix(raw, " ") {
				return nil, nil, 0, false
			}
			for _, f := range strings.Fields(raw) {
				v, err := strconv.ParseInt(f, 10, 64)
				if err != nil {
					return nil, nil, 0, false
				}
				params = append(params, v)
			}
		}
		e++
	} else if e < len(text) && !strings.ContainsRune(" \t,)", rune(text[e])) {
		return nil, nil, 0, false
	}
	def = p.defs[name]
	if def == nil || def.multiline && e != len(text) {
		return nil, nil, 0, false
	}
	if len(params) > def.maxParams {
		return nil, nil, 0, false
	}
	return def, params, e, true
}

// startSequence handles "~SEQ(var, start, step, end) text",
// "~SEQx(...)" (hexadecimal values) and
// "~LST(var, v1, v2, ...)" / "~LST({a, b}, {1, 2}, {3, 4}) text".
func (p *preproc) startSequence(text string, pos Pos) {
	lst := strings.HasPrefix(text, "~LST")
	rest := text[4:]
	hex := false
	if !lst && strings.HasPrefix(rest, "x") {
		hex = true
		rest = rest[1:]
	}
	kind := "~SEQ"
	if lst {
		kind = "~LST"
	}
	rest = strings.TrimLeft(rest, " \t")
	if !strings.HasPrefix(rest, "(") {
		p.diag.errorf(pos, "invalid %s: missing '('", kind)
		return
	}
	closeIdx := matchingParen(rest)
	if closeIdx < 0 {
		p.diag.errorf(pos, "invalid %s: missing ')'", kind)
		return
	}
	args := rest[1:closeIdx]
	body := strings.TrimLeft(rest[closeIdx+1:], " \t")
	if strings.Contains(args, "$") {
		budget := maxSubstitutions
		args, _ = p.substitute(args, pos, &budget)
	}
	var src *seqSource
	var ok bool
	if lst {
		src, ok = p.parseLST(args, pos)
	} else {
		src, ok = p.parseSEQ(args, hex, pos)
	}
	if !ok || body == "" {
		if ok {
			p.diag.warnf(pos, "%s with nothing to repeat", kind)
		}
		return
	}
	src.p, src.text, src.pos = p, body, pos
	p.push(src, pos)
}

// matchingParen returns the index of the ')' closing the '(' at s[0],
// skipping {...} groups, or -1.
func matchingParen(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '{':
			depth++
		case ')', '}':
			depth--
			if depth == 0 {
				if s[i] == ')' {
					return i
				}
				return -1
			}
			if depth < 0 {
				return -1
			}
		}
	}
	return -1
}

func (p *preproc) parseSEQ(args string, hex bool, pos Pos) (*seqSource, bool) {
	parts := strings.Split(args, ",")
	name := strings.TrimSpace(parts[0])
	if name == "" || !isNameStart(name[0]) || strings.IndexFunc(name, func(r rune) bool { return r > 127 || !isNameChar(byte(r)) }) >= 0 {
		p.diag.errorf(pos, "invalid ~SEQ: bad variable name %q", name)
		return nil, false
	}
	nums := make([]int64, 0, 3)
	for _, s := range parts[1:] {
		v, err := strconv.ParseInt(strings.TrimSpace(s), 0, 64)
		if err != nil {
			p.diag.errorf(pos, "invalid ~SEQ: bad number %q", strings.TrimSpace(s))
			return nil, false
		}
		nums = append(nums, v)
	}
	var start, step, end int64
	switch len(nums) {
	case 1:
		end = nums[0]
		step, start = 1, 1
		if end < 1 {
			step = -1
		}
		if end < 0 {
			start = -1
		}
	case 2:
		start, end = nums[0], nums[1]
		step = 1
		if start > end {
			step = -1
		}
	case 3:
		start, step, end = nums[0], nums[1], nums[2]
		if step == 0 || start < end && step < 0 || start > end && step > 0 {
			p.diag.errorf(pos, "invalid ~SEQ: step %d never goes from %d to %d", step, start, end)
			return nil, false
		}
	default:
		p.diag.errorf(pos, "invalid ~SEQ: want (var, [start, [step,]] end)")
		return nil, false
	}
	if hex && (start < 0 || end < 0) {
		p.diag.errorf(pos, "invalid ~SEQx: only valid for positive numbers")
		return nil, false
	}
	// Bound the repetition before it starts.
	if seqCount(start, step, end) >= uint64(p.maxLines) {
		p.diag.errorf(pos, "~SEQ repeats more than %d times", p.maxLines)
		return nil, false
	}
	return &seqSource{vars: []string{name}, cur: start, step: step, last: end, hex: hex}, true
}

// seqCount is how many times a ~SEQ repeats, less one, without overflow.
func seqCount(start, step, end int64) uint64 {
	var span uint64
	if end >= start {
		span = uint64(end) - uint64(start)
	} else {
		span = uint64(start) - uint64(end)
	}
	s := uint64(step)
	if step < 0 {
		s = uint64(-(step + 1)) + 1
	}
	return span / s
}

func (p *preproc) parseLST(args string, pos Pos) (*seqSource, bool) {
	items := splitTopLevel(args)
	if len(items) < 2 {
		p.diag.errorf(pos, "invalid ~LST: want (var, value, ...)")
		return nil, false
	}
	vars := groupItems(items[0])
	for _, v := range vars {
		if v == "" || !isNameStart(v[0]) || strings.IndexFunc(v, func(r rune) bool { return r > 127 || !isNameChar(byte(r)) }) >= 0 {
			p.diag.errorf(pos, "invalid ~LST: bad variable name %q", v)
			return nil, false
		}
	}
	vals := make([][]string, 0, len(items)-1)
	for _, it := range items[1:] {
		vals = append(vals, groupItems(it))
	}
	return &seqSource{vars: vars, vals: vals}, true
}

// splitTopLevel splits on commas outside {...}.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// groupItems turns "{a, b}" into [a b] and "a" into [a].
func groupItems(s string) []string {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return []string{s}
	}
	parts := strings.Split(s[1:len(s)-1], ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// include handles an include line; false when text is not one.
func (p *preproc) include(text string, pos Pos) bool {
	if !strings.HasPrefix(text, "include") {
		return false
	}
	words, _ := splitWords(text)
	var checks includeChecks
	switch words[0] {
	case "include":
	case "includer":
		checks = checkReadable
	case "includem":
		checks = checkMatch | checkReadable
	case "includew":
		checks = checkWildcardMatch | checkReadable
	case "includeb":
		checks = checkBraceMatch | checkReadable
	case "includea":
		checks = checkAll
	default:
		return false // include_check and the like are keywords
	}
	if len(words) != 2 {
		p.diag.errorf(pos, "%s takes one file name or pattern, not %d", words[0], len(words)-1)
		return true
	}
	cur := p.currentFile()
	dir := "."
	if cur != nil {
		checks |= cur.checks
		dir = cur.dir
	}
	pattern := p.fs.resolve(dir, words[1])
	alts, ok := expandBraces(pattern, maxBraceAlts)
	if !ok {
		p.diag.errorf(pos, "%s %s: brace expansion has more than %d alternatives", words[0], words[1], maxBraceAlts)
		return true
	}
	var files []string
	seen := map[string]bool{}
	for _, alt := range alts {
		m, err := p.fs.glob(alt)
		if err != nil {
			p.diag.errorf(pos, "%s %s: bad pattern", words[0], words[1])
			return true
		}
		if len(m) == 0 && len(alts) > 1 && checks&checkBraceMatch != 0 {
			p.diag.errorf(pos, "%s %s: no file matches %s", words[0], words[1], alt)
		}
		for _, f := range m {
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	if len(files) == 0 {
		wild := strings.ContainsAny(words[1], "*?[")
		if checks&checkWildcardMatch != 0 || checks&checkMatch != 0 && !wild {
			p.diag.errorf(pos, "%s %s: no file matches", words[0], words[1])
		} else {
			p.diag.warnf(pos, "%s %s: no file matches", words[0], words[1])
		}
		return true
	}
	p.push(&includeSource{files: files, pos: pos, checks: checks}, pos)
	return true
}

// openNextInclude opens the next file of an include, or pops the include
// when all its files have been read.
func (p *preproc) openNextInclude(inc *includeSource) {
	if inc.idx >= len(inc.files) {
		p.stack = p.stack[:len(p.stack)-1]
		return
	}
	name := inc.files[inc.idx]
	inc.idx++
	readable := inc.checks&checkReadable != 0
	st, err := p.fs.stat(name)
	if err != nil {
		p.report(readable, inc.pos, "include %s: %v", name, unwrapPathErr(err))
		return
	}
	if st.IsDir() {
		return // glob matched a directory: keepalived skips it silently
	}
	if !st.Mode().IsRegular() || st.Mode()&0o111 != 0 {
		p.report(readable, inc.pos, "include %s: not a regular non-executable file; skipped", name)
		return
	}
	key := p.fs.key(name)
	depth := 0
	for _, s := range p.stack {
		if f, ok := s.(*fileSource); ok {
			depth++
			if f.key == key {
				p.diag.errorf(inc.pos, "include loop: %s is already being read", name)
				return
			}
		}
	}
	if depth >= maxIncludeDepth {
		p.diag.errorf(inc.pos, "include %s: includes nested deeper than %d", name, maxIncludeDepth)
		return
	}
	p.openFile(name, inc.checks, inc.pos, readable)
}

func (p *preproc) report(isErr bool, pos Pos, format string, args ...any) {
	if isErr {
		p.diag.errorf(pos, format, args...)
	} else {
		p.diag.warnf(pos, format, args...)
	}
}

// emit cuts the line at braces, splits it into words and records it.
func (p *preproc) emit(text string, pos Pos) {
	for _, piece := range splitBraces(text) {
		if len(p.out) >= p.maxLines {
			p.diag.errorf(pos, "configuration expands to more than %d lines; stopped reading", p.maxLines)
			p.aborted = true
			return
		}
		if piece == "{" || piece == "}" {
			p.out = append(p.out, line{pos: pos, brace: piece[0]})
			continue
		}
		words, ok := splitWords(piece)
		if !ok {
			p.diag.errorf(pos, "unterminated quote in %q", piece)
		}
		if len(words) == 0 {
			continue
		}
		if words[0] == "include_check" {
			p.setIncludeCheck(words[1:], pos)
		}
		p.out = append(p.out, line{pos: pos, words: words})
	}
}

// setIncludeCheck applies include_check to the file being read (and so to
// the files it includes from here on).
func (p *preproc) setIncludeCheck(opts []string, pos Pos) {
	f := p.currentFile()
	if f == nil {
		return
	}
	c, ok := parseIncludeCheck(f.checks, opts)
	if ok {
		f.checks = c
	}
}

// parseIncludeCheck computes include_check OPTIONS from the current
// setting: no option means all; "+x" adds, "-x" removes, a bare list
// replaces.
func parseIncludeCheck(cur includeChecks, opts []string) (includeChecks, bool) {
	if len(opts) == 0 {
		return checkAll, true
	}
	names := map[string]includeChecks{
		"readable":       checkReadable,
		"match":          checkMatch | checkReadable,
		"wildcard_match": checkWildcardMatch | checkReadable,
		"brace_match":    checkBraceMatch | checkReadable,
	}
	out := cur
	if o := opts[0]; o != "" && o[0] != '+' && o[0] != '-' {
		out = 0
	}
	for _, o := range opts {
		op := byte(0)
		if o != "" && (o[0] == '+' || o[0] == '-') {
			op, o = o[0], o[1:]
		}
		bits, ok := names[o]
		if !ok {
			return cur, false
		}
		if op == '-' {
			if o == "readable" {
				out &^= checkReadable
			} else {
				out &^= bits &^ checkReadable
			}
		} else {
			out |= bits
		}
	}
	return out, true
}

// expandBraces expands csh-style {a,b} alternatives (nested too), as
// glob(3) with GLOB_BRACE does. ok is false past max alternatives.
func expandBraces(s string, max int) ([]string, bool) {
	open := -1
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			if depth == 0 {
				open = i
			}
			depth++
		case '}':
			if depth == 0 {
				continue
			}
			depth--
			if depth == 0 {
				inner := s[open+1 : i]
				parts := splitTopLevel(inner)
				if len(parts) < 2 && !strings.Contains(inner, ",") {
					// "{x}" is not an alternative list: keep it literally.
					rest, ok := expandBraces(s[i+1:], max)
					if !ok {
						return nil, false
					}
					out := make([]string, 0, len(rest))
					for _, r := range rest {
						out = append(out, s[:i+1]+r)
					}
					return out, true
				}
				var out []string
				prefix, suffix := s[:open], s[i+1:]
				for _, part := range rawSplitTopLevel(inner) {
					exp, ok := expandBraces(prefix+part+suffix, max)
					if !ok {
						return nil, false
					}
					out = append(out, exp...)
					if len(out) > max {
						return nil, false
					}
				}
				return out, true
			}
		}
	}
	return []string{s}, true
}

// rawSplitTopLevel splits on commas outside {...} without trimming.
func rawSplitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}
