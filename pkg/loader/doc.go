// Package loader loads lbd's BPF programs (bpf/), attaches them per
// interface at the best datapath tier (XDP native, XDP generic, TC), owns
// and pins their maps, and reads them for metrics. It is the only package
// that imports cilium/ebpf and go-tc.
package loader
