package auth

import "testing"

func TestIsOwnAuthResults(t *testing.T) {
	for _, c := range []struct {
		value string
		want  bool
	}{
		{" mx.mailwarden.test; spf=pass smtp.mailfrom=example.org", true},
		{" MX.Mailwarden.Test; dkim=pass", true},
		{" (comment) mx.mailwarden.test;\r\n\tspf=pass", true},
		{` "mx.mailwarden.test"; none`, true},
		{" other.example; spf=pass", false},
		{" mx.mailwarden.test.evil; spf=pass", false},
		{"", false},
	} {
		if got := IsOwnAuthResults(c.value, "mx.mailwarden.test"); got != c.want {
			t.Errorf("IsOwnAuthResults(%q) = %v, want %v", c.value, got, c.want)
		}
	}
}
