package netutil

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"golang.org/x/sys/unix"
)

// netObject is a route or a rule: validated, told apart by its netlink
// encoding (every attribute), and printable.
type netObject interface {
	Validate() error
	encode() []byte
	String() string
}

// ownership is what RouteManager and RuleManager share: it adds and
// removes objects of one kind and removes only those it added. One the
// kernel already had when Add ran is foreign: logged once, never removed.
type ownership[T netObject] struct {
	what string // "route", "rule": in errors and logs
	add  func(T) error
	del  func(T) (bool, error)
	log  *slog.Logger

	mu      sync.Mutex
	owned   map[string]T
	foreign map[string]bool
}

func (m *ownership[T]) init(what string, add func(T) error, del func(T) (bool, error), log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m.what, m.add, m.del, m.log = what, add, del, log
	m.owned, m.foreign = map[string]T{}, map[string]bool{}
}

// Add puts o in place unless it is there already.
func (m *ownership[T]) Add(o T) (AddResult, error) {
	if err := o.Validate(); err != nil {
		return 0, fmt.Errorf("add %s %v: %w", m.what, o, err)
	}
	k := string(o.encode())
	m.mu.Lock()
	defer m.mu.Unlock()
	err := m.add(o)
	_, ours := m.owned[k]
	switch {
	case err == nil:
		delete(m.foreign, k)
		m.owned[k] = o
		return AddResultAdded, nil
	case !errors.Is(err, unix.EEXIST):
		return 0, err
	case ours:
		return AddResultPresent, nil
	}
	if !m.foreign[k] {
		m.foreign[k] = true
		m.log.Info(m.what+" already there before lbd added it: not lbd's, left alone", m.what, o.String())
	}
	return AddResultForeign, nil
}

// Remove deletes o if it is ours and reports whether it deleted one. A
// foreign one is forgotten (a later Add looks again) but stays.
func (m *ownership[T]) Remove(o T) (bool, error) {
	if err := o.Validate(); err != nil {
		return false, fmt.Errorf("remove %s %v: %w", m.what, o, err)
	}
	k := string(o.encode())
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.foreign, k)
	if _, ours := m.owned[k]; !ours {
		return false, nil
	}
	deleted, err := m.del(o)
	if err != nil {
		return false, err
	}
	delete(m.owned, k)
	return deleted, nil
}

// RemoveAll removes everything of ours (shutdown) and returns every error
// met; what could not be removed stays ours.
func (m *ownership[T]) RemoveAll() error {
	m.mu.Lock()
	owned := make([]T, 0, len(m.owned))
	for _, o := range m.owned {
		owned = append(owned, o)
	}
	m.mu.Unlock()
	var errs []error
	for _, o := range owned {
		if _, err := m.Remove(o); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Adopt makes o ours whether or not it is in place, so that Remove
// deletes it: for what the daemon knows it left behind.
func (m *ownership[T]) Adopt(o T) error {
	if err := o.Validate(); err != nil {
		return fmt.Errorf("adopt %s %v: %w", m.what, o, err)
	}
	k := string(o.encode())
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.foreign, k)
	m.owned[k] = o
	return nil
}

// Owns reports whether o is ours.
func (m *ownership[T]) Owns(o T) bool {
	if o.Validate() != nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.owned[string(o.encode())]
	return ok
}
