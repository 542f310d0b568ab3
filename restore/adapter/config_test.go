package adapter

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// shippedConfigs is the folder of real Aptos configs, relative to this
// package: ../shared next to the project, or the project's byte-for-byte
// copies when that folder is absent (a clone outside the workspace).
var shippedConfigs = func() string {
	if _, err := os.Stat("../../../shared/fixtures/aptos-configs"); err == nil {
		return "../../../shared/fixtures/aptos-configs"
	}
	return "../../testdata/aptos-configs"
}()

func TestLoadConfigShipped(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(shippedConfigs, "*.yaml"))
	if err != nil || len(paths) < 10 {
		t.Fatalf("glob %s: %d configs, err %v; want the 10 shipped configs", shippedConfigs, len(paths), err)
	}
	wantEnv := map[string][]string{
		"s3.sample.yaml":    {"BUCKET", "SUB_DIR"},
		"gcp.sample.yaml":   {"BUCKET", "SUB_DIR"},
		"azure.sample.yaml": {"ACCOUNT", "CONTAINER", "SUB_DIR", "SAS"},
		"helm-s3.yaml":      {},
		"helm-oci.yaml":     {},
	}
	for _, path := range paths {
		name := filepath.Base(path)
		if name == "local_folder.sample.yaml" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			cfg, err := LoadConfig(path)
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			if cfg.Source != path {
				t.Errorf("Source = %q, want %q", cfg.Source, path)
			}
			if !strings.Contains(cfg.Commands.OpenForRead, "gzip -cd") {
				t.Errorf("open_for_read = %q, want a pipeline ending in gzip -cd", cfg.Commands.OpenForRead)
			}
			if cfg.Commands.BackupMetadataFile == "" {
				t.Errorf("backup_metadata_file missing; every shipped config but local_folder has one")
			}
			if want, ok := wantEnv[name]; ok {
				var got []string
				for _, v := range cfg.EnvVars {
					got = append(got, v.Key)
				}
				if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Errorf("env_vars keys = %v, want %v", got, want)
				}
			}
		})
	}
}

func TestLoadConfigLocalFolderRejected(t *testing.T) {
	path := filepath.Join(shippedConfigs, "local_folder.sample.yaml")
	cfg, err := LoadConfig(path)
	if err == nil {
		t.Fatalf("LoadConfig(%s) = %+v, want an error about env_vars", path, cfg)
	}
	if !errors.Is(err, ErrConfig) {
		t.Errorf("error %v does not match ErrConfig", err)
	}
	want := regexp.MustCompile(`^.*local_folder\.sample\.yaml:2:3: env_vars: expected a sequence of \{key, value\} mappings \(use \[\] for none\), got a mapping$`)
	if !want.MatchString(err.Error()) {
		t.Errorf("error text:\n  %s\nwant match for %s", err, want)
	}
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Line != 2 || ce.Column != 3 {
		t.Errorf("errors.As ConfigError = %+v, want line 2 column 3", ce)
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	_, err := LoadConfig(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, ErrConfig) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want ErrConfig and fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), "nope.yaml: read config: ") {
		t.Errorf("err = %q, want it to name the file and the step", err)
	}
}

// cmds is a valid commands block for building test configs.
const cmds = `commands:
  create_backup: echo b
  create_for_write: echo f
  open_for_read: cat
  save_metadata_line: echo m
  list_metadata_files: ls
`

func TestParseConfig(t *testing.T) {
	good := "env_vars:\n  - key: A\n    value: x\n  - {key: B, value: 7}\n" + cmds + "  backup_metadata_file: mv\nextra: ignored\n"
	cfg, err := ParseConfig([]byte(good), "good.yaml")
	if err != nil {
		t.Fatalf("ParseConfig(good): %v", err)
	}
	want := Config{
		EnvVars: []EnvVar{{"A", "x"}, {"B", "7"}},
		Commands: Commands{CreateBackup: "echo b", CreateForWrite: "echo f", OpenForRead: "cat",
			SaveMetadataLine: "echo m", ListMetadataFiles: "ls", BackupMetadataFile: "mv"},
		Source: "good.yaml",
	}
	if !slices.Equal(cfg.EnvVars, want.EnvVars) || cfg.Commands != want.Commands || cfg.Source != want.Source {
		t.Errorf("ParseConfig(good) = %+v, want %+v", *cfg, want)
	}

	optionalNull, err := ParseConfig([]byte("env_vars: []\n"+cmds+"  backup_metadata_file:\n"), "n.yaml")
	if err != nil || optionalNull.Commands.BackupMetadataFile != "" || len(optionalNull.EnvVars) != 0 {
		t.Errorf("null backup_metadata_file: cfg %+v, err %v; want accepted as absent", optionalNull, err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"empty", "", `^c\.yaml: empty config \(want a mapping with env_vars and commands\)$`},
		{"blank", "  \n\n", `^c\.yaml: empty config`},
		{"comment only", "# nothing\n", `^c\.yaml: empty config`},
		{"syntax", "env_vars: [\n", `^c\.yaml:\d+: malformed YAML: did not find expected node content$`},
		{"bad indent", "env_vars: []\ncommands:\n  a: 1\n b: 2\n", `^c\.yaml:3: malformed YAML: did not find expected key$`},
		{"root sequence", "- a\n- b\n", `^c\.yaml:1:1: config: expected a mapping with env_vars and commands, got a sequence$`},
		{"root scalar", "hello\n", `^c\.yaml:1:1: config: expected a mapping .*, got scalar "hello"$`},
		{"no env_vars", cmds, `^c\.yaml:1:1: env_vars: required \(a sequence of \{key, value\} mappings; use \[\] for none\)$`},
		{"env_vars null", "env_vars:\n" + cmds, `^c\.yaml:1:10: env_vars: expected a sequence .*, got null$`},
		{"env_vars scalar", "env_vars: FOO=1\n" + cmds, `^c\.yaml:1:11: env_vars: expected a sequence .*, got scalar "FOO=1"$`},
		{"env_vars mapping", "env_vars:\n  key: A\n  value: b\n" + cmds, `^c\.yaml:2:3: env_vars: expected a sequence of \{key, value\} mappings \(use \[\] for none\), got a mapping$`},
		{"item scalar", "env_vars:\n  - A=b\n" + cmds, `^c\.yaml:2:5: env_vars\[0\]: expected a \{key, value\} mapping, got scalar "A=b"$`},
		{"item no key", "env_vars:\n  - value: b\n" + cmds, `^c\.yaml:2:5: env_vars\[0\]: key: required$`},
		{"item no value", "env_vars:\n  - key: A\n  - key: B\n" + cmds, `^c\.yaml:2:5: env_vars\[0\]: value: required$`},
		{"key empty", "env_vars:\n  - {key: '', value: b}\n" + cmds, `^c\.yaml:2:11: env_vars\[0\]\.key: "" is not a usable environment variable name`},
		{"key with =", "env_vars:\n  - {key: 'A=B', value: b}\n" + cmds, `^c\.yaml:2:11: env_vars\[0\]\.key: "A=B" is not a usable`},
		{"key null", "env_vars:\n  - {key: ~, value: b}\n" + cmds, `^c\.yaml:2:11: env_vars\[0\]\.key: expected a string, got null$`},
		{"value list", "env_vars:\n  - key: A\n    value: [1, 2]\n" + cmds, `^c\.yaml:3:12: env_vars\[0\]\.value: expected a string, got a sequence$`},
		{"duplicate item key", "env_vars:\n  - {key: A, key: B, value: c}\n" + cmds, `^c\.yaml:2:14: env_vars\[0\]: duplicate key "key" \(first at line 2\)$`},
		{"duplicate top key", "env_vars: []\nenv_vars: []\n" + cmds, `^c\.yaml:2:1: config: duplicate key "env_vars" \(first at line 1\)$`},
		{"no commands", "env_vars: []\n", `^c\.yaml:1:1: commands: required`},
		{"commands sequence", "env_vars: []\ncommands:\n  - echo\n", `^c\.yaml:3:3: commands: expected a mapping of command names to shell snippets, got a sequence$`},
		{"missing open_for_read", "env_vars: []\n" + strings.Replace(cmds, "  open_for_read: cat\n", "", 1), `^c\.yaml:3:3: commands\.open_for_read: required$`},
		{"blank open_for_read", "env_vars: []\n" + strings.Replace(cmds, "open_for_read: cat", "open_for_read: '  '", 1), `^c\.yaml:5:18: commands\.open_for_read: empty command$`},
		{"mapping open_for_read", "env_vars: []\n" + strings.Replace(cmds, "open_for_read: cat", "open_for_read: {a: b}", 1), `^c\.yaml:5:18: commands\.open_for_read: expected a string, got a mapping$`},
		{"blank optional", "env_vars: []\n" + cmds + "  backup_metadata_file: ''\n", `^c\.yaml:8:25: commands\.backup_metadata_file: empty command$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tt.yaml), "c.yaml")
			if err == nil {
				t.Fatalf("ParseConfig = %+v, want error matching %s", cfg, tt.want)
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("error %v does not match ErrConfig", err)
			}
			if !regexp.MustCompile(tt.want).MatchString(err.Error()) {
				t.Errorf("error:\n  %s\nwant match for\n  %s", err, tt.want)
			}
		})
	}
}

func TestParseConfigAlias(t *testing.T) {
	src := "x: &v {key: A, value: b}\nenv_vars: [*v]\n" + cmds
	cfg, err := ParseConfig([]byte(src), "alias.yaml")
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	if want := []EnvVar{{"A", "b"}}; !slices.Equal(cfg.EnvVars, want) {
		t.Errorf("EnvVars = %v, want %v", cfg.EnvVars, want)
	}
}
