// Package vm holds the tests that need a kernel the CI host lacks (IPVS,
// ipip, an older BPF verifier): run.sh boots Debian's kernel under qemu
// and runs them there with LBD_VM=1. On the host they skip.
//
// To run another package's tests in the VM, add one line to the
// `packages` file beside this one; see run.sh.
package vm
