package config

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// decoder turns the node tree into the typed model. Every handler reports
// its own problems and leaves the field unset on a bad value; nothing
// stops the walk, so that every problem is reported.
type decoder struct {
	diag *diagSink
	cfg  *Config
	// ctx names the element being decoded ("vrrp_instance VI_1"); it
	// prefixes messages.
	ctx string
	// keys caches "path.keyword" strings, built once per pair.
	keys map[[2]string]string
}

// handler decodes one keyword of a block into v.
type handler[T any] func(d *decoder, n *node, v *T)

// entry is a keyword of a block: its handler, and whether it takes a
// { } block (value lists and sub-blocks) or not.
type entry[T any] struct {
	fn    handler[T]
	block bool
}

// kw is a keyword written on one line.
func kw[T any](fn handler[T]) entry[T] { return entry[T]{fn: fn} }

// blk is a keyword followed by a { } block.
func blk[T any](fn handler[T]) entry[T] { return entry[T]{fn: fn, block: true} }

// blockSpec is the set of keywords of one kind of block.
type blockSpec[T any] struct {
	kws map[string]entry[T]
	// aliases maps an older or alternative spelling to its keyword.
	aliases map[string]string
}

// keywords lists the keywords of a block spec (for tests and docs).
func (b *blockSpec[T]) keywords() []string {
	out := make([]string, 0, len(b.kws)+len(b.aliases))
	for k := range b.kws {
		out = append(out, k)
	}
	for k := range b.aliases {
		out = append(out, k)
	}
	return out
}

// decodeBlock decodes children with spec into v. path is the block's
// keyword path ("vrrp_instance", "virtual_server.real_server", ...), used
// for messages and for keyword-use records.
func decodeBlock[T any](d *decoder, spec *blockSpec[T], path string, children []*node, v *T) {
	for _, c := range children {
		name := c.keyword()
		if canon, ok := spec.aliases[name]; ok {
			name = canon
		}
		e, ok := spec.kws[name]
		if !ok {
			d.unknown(c, path)
			continue
		}
		if e.block && !c.block {
			d.errorf(c.pos, "%s: missing '{' block", c.keyword())
			continue
		}
		if !e.block && c.block {
			d.errorf(c.pos, "%s does not take a { } block; block ignored", c.keyword())
		}
		d.use(c.pos, d.key(path, name))
		if m, ok := any(v).(interface{ markSet(string) }); ok {
			m.markSet(name)
		}
		e.fn(d, c, v)
	}
}

// key returns the keyword path of name in block path.
func (d *decoder) key(path, name string) string {
	if path == "" {
		return name
	}
	k, ok := d.keys[[2]string{path, name}]
	if !ok {
		if d.keys == nil {
			d.keys = map[[2]string]string{}
		}
		k = path + "." + name
		d.keys[[2]string{path, name}] = k
	}
	return k
}

// use records a keyword use.
func (d *decoder) use(pos Pos, key string) {
	d.cfg.Keywords = append(d.cfg.Keywords, KeywordUse{Pos: pos, Key: key})
}

func (d *decoder) unknown(n *node, path string) {
	block := path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		block = path[i+1:]
	}
	if parent, ok := nestedOnly[n.keyword()]; ok && !strings.HasSuffix(block, parent) {
		d.diag.errorf(n.pos, "%s outside %s", n.keyword(), parent)
		return
	}
	if block == "" {
		d.diag.warnf(n.pos, "unknown keyword %q", n.keyword())
		return
	}
	hint := ""
	if topLevelBlocks[n.keyword()] && n.block {
		hint = " (missing '}' before it?)"
	}
	d.diag.warnf(n.pos, "unknown keyword %q in %s%s", n.keyword(), block, hint)
}

// errorf and warnf prefix the message with the element being decoded.
func (d *decoder) errorf(pos Pos, format string, args ...any) {
	d.diag.errorf(pos, d.prefix()+format, args...)
}

func (d *decoder) warnf(pos Pos, format string, args ...any) {
	d.diag.warnf(pos, d.prefix()+format, args...)
}

func (d *decoder) prefix() string {
	if d.ctx == "" {
		return ""
	}
	return d.ctx + ": "
}

// enter sets the message context; the returned func restores it.
func (d *decoder) enter(ctx string) func() {
	old := d.ctx
	d.ctx = ctx
	return func() { d.ctx = old }
}

// ---- argument helpers ------------------------------------------------

// noArgs warns when a flag keyword is given arguments.
func (d *decoder) noArgs(n *node) {
	if len(n.args()) > 0 {
		d.warnf(n.pos, "%s takes no value; %q ignored", n.keyword(), strings.Join(n.args(), " "))
	}
}

// arg returns the single argument of n; extra arguments are a warning.
func (d *decoder) arg(n *node) (string, bool) {
	a := n.args()
	if len(a) == 0 {
		d.errorf(n.pos, "%s: missing value", n.keyword())
		return "", false
	}
	if len(a) > 1 {
		d.warnf(n.pos, "%s: extra values %q ignored", n.keyword(), strings.Join(a[1:], " "))
	}
	return a[0], true
}

// joinedArg returns every argument joined with spaces (for strings that
// keepalived takes whole, such as notification addresses or paths).
func (d *decoder) joinedArg(n *node) (string, bool) {
	a := n.args()
	if len(a) == 0 {
		d.errorf(n.pos, "%s: missing value", n.keyword())
		return "", false
	}
	return strings.Join(a, " "), true
}

// parseInt parses a decimal integer in [lo, hi].
func (d *decoder) parseInt(pos Pos, what, s string, lo, hi int64) (int64, bool) {
	v, err := strconv.ParseInt(strings.TrimLeft(s, " \t"), 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			d.errorf(pos, "%s %s: out of range %d-%d", what, s, lo, hi)
		} else {
			d.errorf(pos, "%s %s: not a number", what, s)
		}
		return 0, false
	}
	if v < lo || v > hi {
		d.errorf(pos, "%s %s: out of range %d-%d", what, s, lo, hi)
		return 0, false
	}
	return v, true
}

// intArg parses the single argument as an integer in [lo, hi].
func (d *decoder) intArg(n *node, lo, hi int64) (int, bool) {
	s, ok := d.arg(n)
	if !ok {
		return 0, false
	}
	v, ok := d.parseInt(n.pos, n.keyword(), s, lo, hi)
	return int(v), ok
}

const maxTimer = time.Duration(math.MaxUint32) * time.Second

// parseTimer parses keepalived's <TIMER>: seconds, fractions allowed,
// microsecond resolution, within [lo, hi].
func (d *decoder) parseTimer(pos Pos, what, s string, lo, hi time.Duration) (time.Duration, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || strings.ContainsAny(s, "_xXpP") {
		d.errorf(pos, "%s %s: not a number of seconds", what, s)
		return 0, false
	}
	if f < lo.Seconds() || f > hi.Seconds() {
		d.errorf(pos, "%s %s: out of range %s-%s", what, s, fmtSeconds(lo), fmtSeconds(hi))
		return 0, false
	}
	return time.Duration(math.Round(f*1e6)) * time.Microsecond, true
}

func fmtSeconds(t time.Duration) string {
	return strconv.FormatFloat(t.Seconds(), 'f', -1, 64)
}

// timerArg parses the single argument as a <TIMER> in [lo, hi].
func (d *decoder) timerArg(n *node, lo, hi time.Duration) (time.Duration, bool) {
	s, ok := d.arg(n)
	if !ok {
		return 0, false
	}
	return d.parseTimer(n.pos, n.keyword(), s, lo, hi)
}

// parseBool parses <BOOL>: on|off|true|false|yes|no.
func parseBool(s string) (bool, bool) {
	switch s {
	case "on", "true", "yes":
		return true, true
	case "off", "false", "no":
		return false, true
	}
	return false, false
}

// boolArg reads an optional <BOOL>: no argument means true.
func (d *decoder) boolArg(n *node) (bool, bool) {
	a := n.args()
	if len(a) == 0 {
		return true, true
	}
	if len(a) > 1 {
		d.warnf(n.pos, "%s: extra values %q ignored", n.keyword(), strings.Join(a[1:], " "))
	}
	b, ok := parseBool(a[0])
	if !ok {
		d.errorf(n.pos, "%s %s: not one of on|off|true|false|yes|no", n.keyword(), a[0])
	}
	return b, ok
}

// parseAddr parses an IPv4 or IPv6 address (no zone).
func (d *decoder) parseAddr(pos Pos, what, s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		d.errorf(pos, "%s %s: not an IP address", what, s)
		return netip.Addr{}, false
	}
	return a, true
}

// addrArg parses the single argument as an address.
func (d *decoder) addrArg(n *node) (netip.Addr, bool) {
	s, ok := d.arg(n)
	if !ok {
		return netip.Addr{}, false
	}
	return d.parseAddr(n.pos, n.keyword(), s)
}

// parsePrefix parses "addr[/len]"; a missing length is the full length.
// Host bits are kept.
func (d *decoder) parsePrefix(pos Pos, what, s string) (netip.Prefix, bool) {
	addr, bits, hasBits := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		d.errorf(pos, "%s %s: not an IP address", what, s)
		return netip.Prefix{}, false
	}
	n := a.BitLen()
	if hasBits {
		v, err := strconv.Atoi(bits)
		if err != nil || v < 0 || v > a.BitLen() {
			d.errorf(pos, "%s %s: bad prefix length", what, s)
			return netip.Prefix{}, false
		}
		n = v
	}
	return netip.PrefixFrom(a, n), true
}

// parsePort parses a port number 0-65535.
func (d *decoder) parsePort(pos Pos, what, s string) (uint16, bool) {
	v, ok := d.parseInt(pos, what, s, 0, 65535)
	return uint16(v), ok
}

// commandScript reads a script given as the rest of the line (script,
// misc_path): all words form the command.
func (d *decoder) commandScript(n *node) *Script {
	cmd, ok := d.joinedArg(n)
	if !ok {
		return nil
	}
	return d.newScript(n, cmd, "", "")
}

// notifyScript reads "KEYWORD COMMAND [username [groupname]]": a command
// with arguments must be quoted.
func (d *decoder) notifyScript(n *node) *Script {
	a := n.args()
	if len(a) == 0 {
		d.errorf(n.pos, "%s: missing script", n.keyword())
		return nil
	}
	if len(a) > 3 {
		d.warnf(n.pos, "%s: extra values %q ignored (quote a command that has arguments)", n.keyword(), strings.Join(a[3:], " "))
	}
	user, group := "", ""
	if len(a) > 1 {
		user = a[1]
	}
	if len(a) > 2 {
		group = a[2]
	}
	return d.newScript(n, a[0], user, group)
}

func (d *decoder) newScript(n *node, cmd, user, group string) *Script {
	args, ok := splitCommand(cmd)
	if !ok {
		d.errorf(n.pos, "%s %q: unterminated quote or trailing backslash", n.keyword(), cmd)
	}
	if len(args) == 0 || args[0] == "" {
		d.errorf(n.pos, "%s: empty command", n.keyword())
	}
	return &Script{Cmd: cmd, Args: args, User: user, Group: group}
}

// userGroup reads "KEYWORD USER [GROUP]".
func (d *decoder) userGroup(n *node) (user, group string, ok bool) {
	a := n.args()
	switch len(a) {
	case 0:
		d.errorf(n.pos, "%s: missing user name", n.keyword())
		return "", "", false
	case 1:
		return a[0], "", true
	case 2:
		return a[0], a[1], true
	}
	d.warnf(n.pos, "%s: extra values %q ignored", n.keyword(), strings.Join(a[2:], " "))
	return a[0], a[1], true
}

// fifo reads "KEYWORD NAME [username [groupname]]".
func (d *decoder) fifo(n *node) *FIFO {
	a := n.args()
	if len(a) == 0 {
		d.errorf(n.pos, "%s: missing FIFO name", n.keyword())
		return nil
	}
	f := &FIFO{Name: a[0]}
	if len(a) > 1 {
		f.User = a[1]
	}
	if len(a) > 2 {
		f.Group = a[2]
	}
	if len(a) > 3 {
		d.warnf(n.pos, "%s: extra values %q ignored", n.keyword(), strings.Join(a[3:], " "))
	}
	return f
}

// valueList returns the words of every line in n's block (value blocks
// such as notification_email or group), each line's words flattened.
func valueList(n *node) []string {
	var out []string
	for _, c := range n.children {
		out = append(out, c.words...)
	}
	return out
}

// ---- generic field handlers --------------------------------------------

func setString[T any](field func(*T) *string) handler[T] {
	return func(d *decoder, n *node, v *T) {
		if s, ok := d.arg(n); ok {
			*field(v) = s
		}
	}
}

func setFlag[T any](field func(*T) *bool) handler[T] {
	return func(d *decoder, n *node, v *T) {
		d.noArgs(n)
		*field(v) = true
	}
}

func setBool[T any](field func(*T) *bool) handler[T] {
	return func(d *decoder, n *node, v *T) {
		if b, ok := d.boolArg(n); ok {
			*field(v) = b
		}
	}
}

func setInt[T any](field func(*T) *int, lo, hi int64) handler[T] {
	return func(d *decoder, n *node, v *T) {
		if i, ok := d.intArg(n, lo, hi); ok {
			*field(v) = i
		}
	}
}

func setTimer[T any](field func(*T) *time.Duration, lo, hi time.Duration) handler[T] {
	return func(d *decoder, n *node, v *T) {
		if t, ok := d.timerArg(n, lo, hi); ok {
			*field(v) = t
		}
	}
}

// setMicros reads a number of microseconds.
func setMicros[T any](field func(*T) *time.Duration, lo, hi int64) handler[T] {
	return func(d *decoder, n *node, v *T) {
		if i, ok := d.intArg(n, lo, hi); ok {
			*field(v) = time.Duration(i) * time.Microsecond
		}
	}
}

func setAddr[T any](field func(*T) *netip.Addr) handler[T] {
	return func(d *decoder, n *node, v *T) {
		if a, ok := d.addrArg(n); ok {
			*field(v) = a
		}
	}
}

func setNotify[T any](field func(*T) **Script) handler[T] {
	return func(d *decoder, n *node, v *T) {
		if *field(v) != nil {
			d.warnf(n.pos, "%s given twice; the last one is used", n.keyword())
		}
		if s := d.notifyScript(n); s != nil {
			*field(v) = s
		}
	}
}

func setFIFO[T any](field func(*T) **FIFO) handler[T] {
	return func(d *decoder, n *node, v *T) {
		if f := d.fifo(n); f != nil {
			*field(v) = f
		}
	}
}

func setCPUs[T any](field func(*T) *[]int) handler[T] {
	return func(d *decoder, n *node, v *T) {
		if len(n.args()) == 0 {
			d.errorf(n.pos, "%s: missing CPU numbers", n.keyword())
			return
		}
		var cpus []int
		for _, s := range n.args() {
			c, ok := d.parseInt(n.pos, n.keyword(), s, 0, 4095)
			if !ok {
				return
			}
			cpus = append(cpus, int(c))
		}
		*field(v) = cpus
	}
}
