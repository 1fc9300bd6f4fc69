package testutil

import (
	"os"
	"testing"
)

func TestStrict(t *testing.T) {
	t.Setenv("LBD_TEST_STRICT", "1")
	if !Strict() {
		t.Fatal("Strict() = false with LBD_TEST_STRICT=1")
	}
	os.Unsetenv("LBD_TEST_STRICT")
	if Strict() {
		t.Fatal("Strict() = true without LBD_TEST_STRICT")
	}
}
