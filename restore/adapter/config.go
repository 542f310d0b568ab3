package adapter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EnvVar is one environment variable: a config `env_vars` entry
// (`{key: BUCKET, value: b}`) or an operation's parameter (FILE_HANDLE=…).
//
//	EnvVar{Key: "FILE_HANDLE", Value: "b.1a2b/0-.chunk"}
type EnvVar struct{ Key, Value string }

// String renders v as KEY="value" (value Go-quoted and cut as Quote
// does), the form used in error messages: FILE_HANDLE="b.1a2b/0-.chunk".
func (v EnvVar) String() string { return v.Key + "=" + Quote(v.Value) }

// Commands holds the shell snippets of a CommandAdapter config, one per
// operation, exactly as written in the YAML (`commands:` → `open_for_read:`
// etc.). Each runs as `bash -c "set -o nounset -o errexit -o pipefail; <cmd>"`.
// BackupMetadataFile is optional (empty = not configured); all others are
// required and non-blank.
//
//	cfg.Commands.OpenForRead // `aws s3 cp "s3://$BUCKET/…" - | gzip -cd`
type Commands struct {
	CreateBackup       string // yaml: create_backup
	CreateForWrite     string // yaml: create_for_write
	OpenForRead        string // yaml: open_for_read
	SaveMetadataLine   string // yaml: save_metadata_line
	ListMetadataFiles  string // yaml: list_metadata_files
	BackupMetadataFile string // yaml: backup_metadata_file (optional)
}

// Config is a parsed CommandAdapter config: the `env_vars` list (in file
// order; a later duplicate key wins when the environment is built), the
// commands, and Source, the name errors and messages use for the file.
//
//	cfg, err := adapter.LoadConfig("../shared/fixtures/aptos-configs/s3.sample.yaml")
type Config struct {
	EnvVars  []EnvVar
	Commands Commands
	Source   string
}

// ErrConfig is matched (errors.Is) by every error LoadConfig and ParseConfig
// return; errors.As with *ConfigError gives the position.
//
//	if errors.Is(err, adapter.ErrConfig) { … }
var ErrConfig = errors.New("invalid command adapter config")

// ConfigError is a config problem with its position: Source (file name),
// Line and Column (1-based; 0 when unknown), Msg, and Err, the underlying
// cause if any (a read error, a YAML syntax error). It matches ErrConfig.
//
//	var ce *adapter.ConfigError
//	if errors.As(err, &ce) { fmt.Println(ce.Line) }
type ConfigError struct {
	Source       string
	Line, Column int
	Msg          string
	Err          error
}

// Error renders "source:line:col: msg[: cause]", leaving out a zero line or
// column: "local_folder.sample.yaml:2:3: env_vars: expected …".
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause (nil for a pure content error).
func (e *ConfigError) Unwrap() error { return e.Err }

// Is reports whether target is ErrConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

// LoadConfig reads and parses the CommandAdapter config at path; Source is
// path. It is LoadConfigContext without cancellation.
//
//	cfg, err := adapter.LoadConfig("testdata/configs/local.yaml")
func LoadConfig(path string) (*Config, error) {
	return LoadConfigContext(context.Background(), path)
}

// ParseConfig parses a CommandAdapter config held in data; source names it in
// errors and becomes Config.Source. Rules (those of backup-cli's serde
// structs): `env_vars` is required and is a sequence of `{key, value}`
// mappings (`[]` allowed); `commands` is required and holds the five
// required commands, each a non-blank string, plus the optional
// `backup_metadata_file`; unknown keys are ignored; duplicate keys are an
// error. Scalar values are taken as written (`value: 1` is "1").
//
//	cfg, err := adapter.ParseConfig([]byte("env_vars: []\ncommands: …"), "inline.yaml")
func ParseConfig(data []byte, source string) (*Config, error) {
	p := parser{source: source}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, p.errf(nil, "empty config (want a mapping with env_vars and commands)")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, p.syntaxErr(err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, p.errf(nil, "empty config (want a mapping with env_vars and commands)")
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, p.errf(root, "config: expected a mapping with env_vars and commands, got %s", describe(root))
	}
	fields, err := p.mapping(root, "config")
	if err != nil {
		return nil, err
	}
	cfg := &Config{Source: source}

	envNode, ok := fields["env_vars"]
	if !ok {
		return nil, p.errf(root, "env_vars: required (a sequence of {key, value} mappings; use [] for none)")
	}
	if cfg.EnvVars, err = p.envVars(envNode); err != nil {
		return nil, err
	}

	cmdNode, ok := fields["commands"]
	if !ok {
		return nil, p.errf(root, "commands: required (a mapping of command names to shell snippets)")
	}
	if cfg.Commands, err = p.commands(cmdNode); err != nil {
		return nil, err
	}
	return cfg, nil
}

// parser carries the source name for error positions.
type parser struct{ source string }

// errf builds a *ConfigError at n's position (no position when n is nil).
func (p parser) errf(n *yaml.Node, format string, args ...any) error {
	e := &ConfigError{Source: p.source, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxErr turns a yaml.v3 error ("yaml: line 3: could not find expected
// ':'") into a positioned *ConfigError.
func (p parser) syntaxErr(err error) error {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &ConfigError{Source: p.source, Line: line, Msg: "malformed YAML: " + m[2]}
	}
	return &ConfigError{Source: p.source, Msg: "malformed YAML", Err: err}
}

// resolve follows aliases (`*anchor`) to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// describe names a node's kind for "got …" in messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("scalar %q", n.Value)
	case yaml.DocumentNode:
		return "a document"
	case yaml.AliasNode:
		return "an alias"
	}
	return "an unknown node"
}

// mapping returns m's keys and value nodes; keys must be scalars and unique.
func (p parser) mapping(m *yaml.Node, what string) (map[string]*yaml.Node, error) {
	out := make(map[string]*yaml.Node, len(m.Content)/2)
	keyNodes := make(map[string]*yaml.Node, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := resolve(m.Content[i]), resolve(m.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return nil, p.errf(k, "%s: keys must be scalars, got %s", what, describe(k))
		}
		if prev, dup := keyNodes[k.Value]; dup {
			return nil, p.errf(k, "%s: duplicate key %q (first at line %d)", what, k.Value, prev.Line)
		}
		keyNodes[k.Value] = k
		out[k.Value] = v
	}
	return out, nil
}

// scalar returns n's text; null and non-scalars are errors.
func (p parser) scalar(n *yaml.Node, what string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.errf(n, "%s: expected a string, got %s", what, describe(n))
	}
	return n.Value, nil
}

// envVars decodes the env_vars sequence.
func (p parser) envVars(n *yaml.Node) ([]EnvVar, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.errf(n, "env_vars: expected a sequence of {key, value} mappings (use [] for none), got %s", describe(n))
	}
	vars := make([]EnvVar, 0, len(n.Content))
	for i, item := range n.Content {
		item = resolve(item)
		what := fmt.Sprintf("env_vars[%d]", i)
		if item.Kind != yaml.MappingNode {
			return nil, p.errf(item, "%s: expected a {key, value} mapping, got %s", what, describe(item))
		}
		fields, err := p.mapping(item, what)
		if err != nil {
			return nil, err
		}
		keyNode, ok := fields["key"]
		if !ok {
			return nil, p.errf(item, "%s: key: required", what)
		}
		valNode, ok := fields["value"]
		if !ok {
			return nil, p.errf(item, "%s: value: required", what)
		}
		key, err := p.scalar(keyNode, what+".key")
		if err != nil {
			return nil, err
		}
		if key == "" || strings.ContainsAny(key, "=\x00") {
			return nil, p.errf(keyNode, "%s.key: %q is not a usable environment variable name (empty, or contains '=' or NUL)", what, key)
		}
		val, err := p.scalar(valNode, what+".value")
		if err != nil {
			return nil, err
		}
		if strings.ContainsRune(val, 0) {
			return nil, p.errf(valNode, "%s.value: contains a NUL byte", what)
		}
		vars = append(vars, EnvVar{Key: key, Value: val})
	}
	return vars, nil
}

// commands decodes the commands mapping.
func (p parser) commands(n *yaml.Node) (Commands, error) {
	var c Commands
	if n.Kind != yaml.MappingNode {
		return c, p.errf(n, "commands: expected a mapping of command names to shell snippets, got %s", describe(n))
	}
	fields, err := p.mapping(n, "commands")
	if err != nil {
		return c, err
	}
	required := []struct {
		name string
		dst  *string
	}{
		{"create_backup", &c.CreateBackup},
		{"create_for_write", &c.CreateForWrite},
		{"open_for_read", &c.OpenForRead},
		{"save_metadata_line", &c.SaveMetadataLine},
		{"list_metadata_files", &c.ListMetadataFiles},
	}
	for _, r := range required {
		v, ok := fields[r.name]
		if !ok {
			return c, p.errf(n, "commands.%s: required", r.name)
		}
		if *r.dst, err = p.command(v, r.name); err != nil {
			return c, err
		}
	}
	if v, ok := fields["backup_metadata_file"]; ok && !(v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
		if c.BackupMetadataFile, err = p.command(v, "backup_metadata_file"); err != nil {
			return c, err
		}
	}
	return c, nil
}

// command decodes one command snippet: a non-blank string.
func (p parser) command(n *yaml.Node, name string) (string, error) {
	s, err := p.scalar(n, "commands."+name)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(s) == "" {
		return "", p.errf(n, "commands.%s: empty command", name)
	}
	return s, nil
}
