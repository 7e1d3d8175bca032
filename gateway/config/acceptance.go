package config

import (
	"os"
	"time"
)

// Acceptance is the acceptance policy (gateway/acceptance): an
// administration's rules every received document is judged by before the
// AIS sees it. The rules themselves are their own file; gateway/node loads
// and checks it at start.
type Acceptance struct {
	// Rules is the rules file (configs/acceptance.maritime.example.yaml);
	// empty: no policy, every document goes to the AIS as it arrives.
	Rules   string   `yaml:"rules"`
	Workers int      `yaml:"workers"` // documents judged at once
	Timeout Duration `yaml:"timeout"` // one document's checks, scans and revocation lookups together
}

func acceptanceDefaults() Acceptance {
	return Acceptance{Workers: 2, Timeout: Duration(5 * time.Minute)}
}

func (c *Config) validateAcceptance(add func(string, string, ...any)) {
	a := c.Acceptance
	if a.Rules == "" {
		return
	}
	if st, err := os.Stat(c.Path(a.Rules)); err != nil {
		add("acceptance.rules", "%v; give the rules file (start from configs/acceptance.maritime.example.yaml; relative paths start at the config file's folder), or leave it empty for no policy", err)
	} else if st.IsDir() {
		add("acceptance.rules", "%q is a folder; give the rules file", a.Rules)
	}
	if a.Workers < 1 || a.Workers > 64 {
		add("acceptance.workers", "%d; judge 1 to 64 documents at once (the default is 2)", a.Workers)
	}
	if a.Timeout.D() < time.Second {
		add("acceptance.timeout", "%s; give one document's checks at least 1s (the default is 5m; virus.timeout and the revocation timeout apply inside it)", a.Timeout.D())
	}
}
