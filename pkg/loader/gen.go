package loader

// The VRRP program (bpf/vrrp.c) is compiled by bpf2go into vrrp_bpfel.go and
// vrrp_bpfel.o, both committed; `make generate` rebuilds them and CI checks
// they are current. -mcpu=v3: JMP32 and the wider ALU give the verifier and
// the JIT shorter code; every kernel lbd supports (>= 6.1) has it.
//go:generate go tool bpf2go -tags linux -target bpfel -output-stem vrrp -type vrrp_reason -type vrrp_cfg_flag -type vrrp_event_kind -type vrrp_master_flag -type vrrp_event -type vrrp_allow_key -cflags "-O2 -g -Wall -Werror -mcpu=v3" bpf ../../bpf/vrrp.c -- -I/usr/include/x86_64-linux-gnu
