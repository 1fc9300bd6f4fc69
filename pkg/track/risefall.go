package track

// RiseFall turns a vrrp_script's results into its state, counting as
// keepalived does (vrrp_scheduler.c vrrp_script_child_thread,
// vrrp_init_script). keepalived keeps one counter, result, in
// [0, rise+fall-1]; the script is up while result >= rise:
//
//   - a success adds 1 while result < rise-1; from rise-1 it jumps to
//     rise+fall-1 (up: the counter is full again);
//   - a failure subtracts 1 while result > rise; from rise or below it
//     drops to 0 (down: rise successes are needed again).
//
// So an up script goes down after fall consecutive failures, and a down
// one comes up after rise consecutive successes; a failure while rising
// restarts the count. At start the counter is rise-1 and the state is
// init: the first result decides, whatever rise and fall are. With
// init_fail it starts at 0, down, and needs rise successes.
type RiseFall struct {
	rise, fall int
	result     int
	state      State
	first      bool
}

// NewRiseFall returns the counter for a script with rise and fall (values
// below 1 mean 1) and init_fail.
func NewRiseFall(rise, fall int, initFail bool) *RiseFall {
	rise, fall = max(rise, 1), max(fall, 1)
	r := &RiseFall{rise: rise, fall: fall}
	if initFail {
		r.state = StateDown
	} else {
		r.result = rise - 1
		r.state = StateInit
		r.first = true
	}
	return r
}

// State returns the current state.
func (r *RiseFall) State() State { return r.state }

// Observe records one result and returns the state, and whether it
// changed.
func (r *RiseFall) Observe(ok bool) (State, bool) {
	old := r.state
	full := r.rise + r.fall - 1
	if ok {
		switch {
		case r.result < r.rise-1:
			r.result++
		case r.result != full:
			if r.result < r.rise {
				r.state = StateUp
			}
			r.result = full
		}
	} else {
		switch {
		case r.result > r.rise:
			r.result--
		default:
			if r.result == r.rise || r.first {
				r.state = StateDown
			}
			r.result = 0
		}
	}
	r.first = false
	return r.state, r.state != old
}
