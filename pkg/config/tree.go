package config

// node is one keyword line with its arguments and, when a '{' followed
// it, the lines of its block.
type node struct {
	pos      Pos
	words    []string // words[0] is the keyword
	block    bool     // a { } block followed the line
	children []*node
}

func (n *node) keyword() string { return n.words[0] }

// args are the words after the keyword.
func (n *node) args() []string { return n.words[1:] }

// buildTree nests lines into nodes: a '{' opens a block for the line just
// before it (on the same line or the next one), '}' closes it. Brace
// mistakes are reported; a stray '{' opens a block that is ignored, so that
// its '}' does not close the enclosing one early.
func buildTree(lines []line, diag *diagSink) []*node {
	root := &node{}
	type frame struct {
		n       *node
		ignored bool
	}
	stack := []frame{{n: root}}
	var last *node // the node a '{' would open, if it comes next
	for _, l := range lines {
		top := stack[len(stack)-1]
		switch l.brace {
		case '{':
			if last != nil && !last.block {
				last.block = true
				stack = append(stack, frame{n: last})
			} else {
				diag.errorf(l.pos, "unexpected '{'")
				stack = append(stack, frame{n: &node{pos: l.pos, words: []string{"{"}}, ignored: true})
			}
			last = nil
		case '}':
			if len(stack) == 1 {
				diag.errorf(l.pos, "unexpected '}'")
			} else {
				stack = stack[:len(stack)-1]
			}
			last = nil
		default:
			n := &node{pos: l.pos, words: l.words}
			top.n.children = append(top.n.children, n)
			last = n
		}
	}
	for i := len(stack) - 1; i > 0; i-- {
		f := stack[i]
		if f.ignored {
			continue
		}
		diag.errorf(f.n.pos, "%s: missing '}' at end of block", f.n.keyword())
	}
	return root.children
}
