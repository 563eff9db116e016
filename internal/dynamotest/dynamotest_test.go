package dynamotest

import (
	"regexp"
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	// DynamoDB table names: 3 to 255 of these characters.
	valid := regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)
	t.Run("name with spaces/and slashes", func(t *testing.T) {
		a, b := Table(t), Table(t)
		if a == b {
			t.Errorf("two calls gave the same name %q", a)
		}
		for _, name := range []string{a, b} {
			if !valid.MatchString(name) {
				t.Errorf("Table: got %q, not a valid table name", name)
			}
			if !strings.Contains(name, "TestTable_name_with_spaces_and_slashes") {
				t.Errorf("Table: got %q, want it to name the test", name)
			}
		}
	})
	t.Run(strings.Repeat("long", 100), func(t *testing.T) {
		if name := Table(t); !valid.MatchString(name) {
			t.Errorf("Table: got %q (%d characters), not a valid table name", name, len(name))
		}
	})
}
