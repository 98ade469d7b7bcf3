//! Layered configuration: built-in defaults, then a TOML config file, then
//! `AIMA_*` environment variables (and the conventional `DATABASE_URL`), then
//! command-line flags applied by the binary.
//!
//! Every setting is listed once, in [`SETTINGS`]; the README's configuration
//! table and `aima config` are generated from it. Unknown keys in the config
//! file and unknown `AIMA_*` variables are rejected with an error naming them,
//! so a typo never silently falls back to a default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aima_vectors::{ServerConfig, VectorBackend};
use serde::{Deserialize, Serialize};

/// One documented setting: its key in the config file, its environment
/// variable, its default (as text) and what it does.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// Key in the TOML config file.
    pub key: &'static str,
    /// Environment variable that overrides the file.
    pub env: &'static str,
    /// Default value, as shown to people ("" when unset).
    pub default: &'static str,
    /// What the setting controls.
    pub doc: &'static str,
}

/// Every configuration setting AIMA reads, in one place.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "data_dir",
        env: "AIMA_DATA_DIR",
        default: "./aima-data",
        doc: "Directory holding the SQLite database (aima.db) and other local state. \
              Also settable with --data-dir.",
    },
    Setting {
        key: "database_url",
        env: "AIMA_DATABASE_URL",
        default: "",
        doc: "Database to use instead of the SQLite file: a postgres:// URL selects \
              PostgreSQL, a sqlite: URL another SQLite file. DATABASE_URL is read too \
              (AIMA_DATABASE_URL wins).",
    },
    Setting {
        key: "bind",
        env: "AIMA_BIND",
        default: "127.0.0.1:8080",
        doc: "Address `aima serve` listens on. Also settable with --bind.",
    },
    Setting {
        key: "sheets_export_base",
        env: "AIMA_SHEETS_EXPORT_BASE",
        default: "https://docs.google.com",
        doc: "Base URL that Google Sheets share links are rewritten to for CSV export \
              (point it at a local server in tests or behind a proxy).",
    },
    Setting {
        key: "log_format",
        env: "AIMA_LOG_FORMAT",
        default: "text",
        doc: "Log lines of `aima serve` on stderr (one per request, and errors): `text` or \
              `json` (one JSON object per line). The level comes from RUST_LOG (default \
              `info`).",
    },
    Setting {
        key: "thread_retention_days",
        env: "AIMA_THREAD_RETENTION_DAYS",
        default: "90",
        doc: "`aima serve` deletes the saved state of planner threads idle this many days \
              (daily; their message history stays). 0 keeps every thread.",
    },
    Setting {
        key: "default_org",
        env: "AIMA_DEFAULT_ORG",
        default: "",
        doc: "Organization slug used when a command gets no --org and more than one \
              organization exists.",
    },
    Setting {
        key: "qdrant_url",
        env: "AIMA_QDRANT_URL",
        default: "",
        doc: "gRPC URL of a Qdrant server (e.g. http://127.0.0.1:6334) to hold the vector \
              index of customer fingerprints, shared by every AIMA process using it \
              (collections `fingerprints-<dimension>d` and `fingerprints-<dimension>d-versions`). \
              Unset: an embedded Qdrant Edge index under data_dir/vectors. Either way the \
              database stays the record and the index is rebuilt from it when stale; while \
              the index cannot be used, searches scan the database.",
    },
    Setting {
        key: "qdrant_api_key",
        env: "AIMA_QDRANT_API_KEY",
        default: "",
        doc: "API key sent to the Qdrant server of qdrant_url, if it requires one.",
    },
    Setting {
        key: "llm_provider",
        env: "AIMA_LLM_PROVIDER",
        default: "offline",
        doc: "Language model behind the planner: `offline` (deterministic, no network: \
              routes questions to tools by intent and writes answers from templates) or \
              `openai` (any OpenAI-compatible chat-completions endpoint).",
    },
    Setting {
        key: "llm_base_url",
        env: "AIMA_LLM_BASE_URL",
        default: "https://api.openai.com/v1",
        doc: "Base URL of the OpenAI-compatible API, e.g. http://127.0.0.1:11434/v1 for \
              Ollama or http://127.0.0.1:8000/v1 for vLLM.",
    },
    Setting {
        key: "llm_model",
        env: "AIMA_LLM_MODEL",
        default: "gpt-4o-mini",
        doc: "Model name sent to the endpoint (openai provider).",
    },
    Setting {
        key: "llm_api_key",
        env: "AIMA_LLM_API_KEY",
        default: "",
        doc: "API key sent as a bearer token (openai provider); unset sends none, as \
              local servers expect.",
    },
    Setting {
        key: "llm_timeout_secs",
        env: "AIMA_LLM_TIMEOUT_SECS",
        default: "120",
        doc: "Limit in seconds on one model call, streaming included.",
    },
    Setting {
        key: "llm_stall_timeout_secs",
        env: "AIMA_LLM_STALL_TIMEOUT_SECS",
        default: "30",
        doc: "Limit in seconds on the wait for the first and each next streamed chunk.",
    },
    Setting {
        key: "llm_price_prompt_per_mtok",
        env: "AIMA_LLM_PRICE_PROMPT_PER_MTOK",
        default: "",
        doc: "Price in US dollars per million prompt tokens, for cost accounting \
              (unset: cost not reported).",
    },
    Setting {
        key: "llm_price_completion_per_mtok",
        env: "AIMA_LLM_PRICE_COMPLETION_PER_MTOK",
        default: "",
        doc: "Price in US dollars per million completion tokens, for cost accounting \
              (unset: cost not reported).",
    },
];

/// Environment variable naming the config file to read (also `--config`).
pub const CONFIG_FILE_ENV: &str = "AIMA_CONFIG";

/// Errors while assembling the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML or has an unknown key / wrong type.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
    /// An `AIMA_*` environment variable that no setting uses.
    #[error("unknown environment variable {name}; known: {known}")]
    UnknownEnv {
        /// The variable.
        name: String,
        /// The known variables, comma-separated.
        known: String,
    },
    /// A setting has a value that cannot be used.
    #[error("invalid value for {key}: {message}")]
    Invalid {
        /// The setting key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// The effective configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Directory for the SQLite database and local state.
    pub data_dir: PathBuf,
    /// Database URL overriding the SQLite file under `data_dir`.
    pub database_url: Option<String>,
    /// Listen address for `aima serve`.
    pub bind: String,
    /// Base URL for Google Sheets CSV export.
    pub sheets_export_base: String,
    /// Organization used when none is named and several exist.
    pub default_org: Option<String>,
    /// gRPC URL of a Qdrant server for the vector index; `None`: the
    /// embedded index under `data_dir/vectors`.
    pub qdrant_url: Option<String>,
    /// API key for the Qdrant server, if any (never serialized).
    #[serde(skip_serializing)]
    pub qdrant_api_key: Option<String>,
    /// LLM provider name: `offline` or `openai`.
    pub llm_provider: String,
    /// Base URL of the OpenAI-compatible API.
    pub llm_base_url: String,
    /// Model name sent to the endpoint.
    pub llm_model: String,
    /// API key for the endpoint, if any (never serialized, so `aima config`
    /// does not print it).
    #[serde(skip_serializing)]
    pub llm_api_key: Option<String>,
    /// Log line format of `aima serve`: `text` or `json`.
    pub log_format: String,
    /// Days after which an idle planner thread's saved state is pruned (0:
    /// never).
    pub thread_retention_days: u64,
    /// Limit on one model call, in seconds (> 0).
    pub llm_timeout_secs: u64,
    /// Limit on the wait between streamed chunks, in seconds (> 0).
    pub llm_stall_timeout_secs: u64,
    /// US dollars per million prompt tokens (>= 0), if known.
    pub llm_price_prompt_per_mtok: Option<f64>,
    /// US dollars per million completion tokens (>= 0), if known.
    pub llm_price_completion_per_mtok: Option<f64>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./aima-data"),
            database_url: None,
            bind: "127.0.0.1:8080".to_owned(),
            sheets_export_base: "https://docs.google.com".to_owned(),
            default_org: None,
            qdrant_url: None,
            qdrant_api_key: None,
            llm_provider: "offline".to_owned(),
            llm_base_url: "https://api.openai.com/v1".to_owned(),
            llm_model: "gpt-4o-mini".to_owned(),
            llm_api_key: None,
            log_format: "text".to_owned(),
            thread_retention_days: 90,
            llm_timeout_secs: 120,
            llm_stall_timeout_secs: 30,
            llm_price_prompt_per_mtok: None,
            llm_price_completion_per_mtok: None,
        }
    }
}

impl Config {
    /// Loads defaults, then `file` (or the file named by `AIMA_CONFIG`; a
    /// missing explicit file is an error), then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        Self::load_from(file, &env)
    }

    /// Like [`Config::load`] with an explicit environment (for tests).
    pub fn load_from(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| env.get(CONFIG_FILE_ENV).map(PathBuf::from));
        let mut config = match file {
            Some(path) => Self::from_file(&path)?,
            None => Self::default(),
        };
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    /// Parses a TOML config file; unknown keys are errors.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.message().to_owned(),
        })
    }

    fn apply_env(&mut self, env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
        for (name, value) in env {
            if !name.starts_with("AIMA_") || name == CONFIG_FILE_ENV {
                continue;
            }
            // Variables of other tools that share the prefix are not ours to reject.
            if name.starts_with("AIMA_TEST_") {
                continue;
            }
            match name.as_str() {
                "AIMA_DATA_DIR" => self.data_dir = PathBuf::from(value),
                "AIMA_DATABASE_URL" => self.database_url = non_empty(value),
                "AIMA_BIND" => self.bind = value.clone(),
                "AIMA_SHEETS_EXPORT_BASE" => self.sheets_export_base = value.clone(),
                "AIMA_DEFAULT_ORG" => self.default_org = non_empty(value),
                "AIMA_QDRANT_URL" => self.qdrant_url = non_empty(value),
                "AIMA_QDRANT_API_KEY" => self.qdrant_api_key = non_empty(value),
                "AIMA_LLM_PROVIDER" => self.llm_provider = value.trim().to_owned(),
                "AIMA_LLM_BASE_URL" => self.llm_base_url = value.trim().to_owned(),
                "AIMA_LLM_MODEL" => self.llm_model = value.trim().to_owned(),
                "AIMA_LLM_API_KEY" => self.llm_api_key = non_empty(value),
                "AIMA_LOG_FORMAT" => self.log_format = value.trim().to_lowercase(),
                "AIMA_THREAD_RETENTION_DAYS" => {
                    self.thread_retention_days = parse_num("thread_retention_days", value)?
                }
                "AIMA_LLM_TIMEOUT_SECS" => {
                    self.llm_timeout_secs = parse_num("llm_timeout_secs", value)?
                }
                "AIMA_LLM_STALL_TIMEOUT_SECS" => {
                    self.llm_stall_timeout_secs = parse_num("llm_stall_timeout_secs", value)?
                }
                "AIMA_LLM_PRICE_PROMPT_PER_MTOK" => {
                    self.llm_price_prompt_per_mtok = non_empty(value)
                        .map(|v| parse_num("llm_price_prompt_per_mtok", &v))
                        .transpose()?
                }
                "AIMA_LLM_PRICE_COMPLETION_PER_MTOK" => {
                    self.llm_price_completion_per_mtok = non_empty(value)
                        .map(|v| parse_num("llm_price_completion_per_mtok", &v))
                        .transpose()?
                }
                _ => {
                    let known: Vec<&str> = SETTINGS.iter().map(|s| s.env).collect();
                    return Err(ConfigError::UnknownEnv {
                        name: name.clone(),
                        known: format!("{}, {CONFIG_FILE_ENV}", known.join(", ")),
                    });
                }
            }
        }
        if let (false, Some(url)) = (
            env.contains_key("AIMA_DATABASE_URL"),
            env.get("DATABASE_URL").and_then(|v| non_empty(v)),
        ) {
            self.database_url = Some(url);
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.data_dir.as_os_str().is_empty() {
            return Err(ConfigError::Invalid {
                key: "data_dir",
                message: "must not be empty".into(),
            });
        }
        if self.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Invalid {
                key: "bind",
                message: format!("'{}' is not an address like 127.0.0.1:8080", self.bind),
            });
        }
        if !(self.sheets_export_base.starts_with("http://")
            || self.sheets_export_base.starts_with("https://"))
        {
            return Err(ConfigError::Invalid {
                key: "sheets_export_base",
                message: format!("'{}' is not an http(s) URL", self.sheets_export_base),
            });
        }
        if let Some(url) = &self.qdrant_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::Invalid {
                key: "qdrant_url",
                message: format!("'{url}' is not an http(s) URL like http://127.0.0.1:6334"),
            });
        }
        if !matches!(self.llm_provider.as_str(), "offline" | "openai") {
            return Err(ConfigError::Invalid {
                key: "llm_provider",
                message: format!("'{}' is not offline or openai", self.llm_provider),
            });
        }
        if !(self.llm_base_url.starts_with("http://") || self.llm_base_url.starts_with("https://"))
        {
            return Err(ConfigError::Invalid {
                key: "llm_base_url",
                message: format!("'{}' is not an http(s) URL", self.llm_base_url),
            });
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ConfigError::Invalid {
                key: "log_format",
                message: format!("'{}' is not `text` or `json`", self.log_format),
            });
        }
        for (key, secs) in [
            ("llm_timeout_secs", self.llm_timeout_secs),
            ("llm_stall_timeout_secs", self.llm_stall_timeout_secs),
        ] {
            if secs == 0 {
                return Err(ConfigError::Invalid {
                    key,
                    message: "must be at least 1 second".into(),
                });
            }
        }
        for (key, price) in [
            ("llm_price_prompt_per_mtok", self.llm_price_prompt_per_mtok),
            (
                "llm_price_completion_per_mtok",
                self.llm_price_completion_per_mtok,
            ),
        ] {
            if let Some(p) = price
                && !(p.is_finite() && p >= 0.0)
            {
                return Err(ConfigError::Invalid {
                    key,
                    message: format!("{p} is not a price (a finite number >= 0)"),
                });
            }
        }
        Ok(())
    }

    /// Where the vector index lives: the Qdrant server of `qdrant_url`
    /// (with `qdrant_api_key`), else the embedded index under
    /// `data_dir/vectors`.
    pub fn vector_backend(&self) -> VectorBackend {
        match &self.qdrant_url {
            Some(url) => VectorBackend::Server(ServerConfig {
                api_key: self.qdrant_api_key.clone(),
                ..ServerConfig::new(url.clone())
            }),
            None => VectorBackend::Embedded(self.data_dir.join("vectors")),
        }
    }

    /// The settings table as Markdown (the README's configuration section).
    pub fn markdown_table() -> String {
        let mut out =
            String::from("| key | environment | default | meaning |\n|---|---|---|---|\n");
        for s in SETTINGS {
            out.push_str(&format!(
                "| `{}` | `{}` | {} | {} |\n",
                s.key,
                s.env,
                if s.default.is_empty() {
                    "(unset)".to_owned()
                } else {
                    format!("`{}`", s.default)
                },
                s.doc.split_whitespace().collect::<Vec<_>>().join(" ")
            ));
        }
        out
    }
}

fn parse_num<T: std::str::FromStr>(key: &'static str, value: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    value.trim().parse().map_err(|e| ConfigError::Invalid {
        key,
        message: format!("'{value}': {e}"),
    })
}

fn non_empty(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_then_file_then_env() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("aima.toml");
        std::fs::write(
            &file,
            "data_dir = \"/from/file\"\nbind = \"0.0.0.0:9000\"\n",
        )
        .expect("write");
        let c = Config::load_from(Some(&file), &env(&[("AIMA_DATA_DIR", "/from/env")]))
            .expect("config");
        assert_eq!(c.data_dir, PathBuf::from("/from/env"));
        assert_eq!(c.bind, "0.0.0.0:9000");
        assert_eq!(c.sheets_export_base, "https://docs.google.com");
    }

    #[test]
    fn unknown_file_key_is_rejected_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("aima.toml");
        std::fs::write(&file, "data_dri = \"x\"\n").expect("write");
        let err = Config::load_from(Some(&file), &env(&[])).expect_err("must fail");
        assert!(err.to_string().contains("data_dri"), "{err}");
    }

    #[test]
    fn unknown_env_is_rejected_by_name() {
        let err = Config::load_from(None, &env(&[("AIMA_DATADIR", "x")])).expect_err("must fail");
        assert!(err.to_string().contains("AIMA_DATADIR"), "{err}");
    }

    #[test]
    fn database_url_precedence() {
        let c = Config::load_from(None, &env(&[("DATABASE_URL", "postgres://a/b")])).expect("c");
        assert_eq!(c.database_url.as_deref(), Some("postgres://a/b"));
        let c = Config::load_from(
            None,
            &env(&[
                ("DATABASE_URL", "postgres://a/b"),
                ("AIMA_DATABASE_URL", "sqlite:x.db"),
            ]),
        )
        .expect("c");
        assert_eq!(c.database_url.as_deref(), Some("sqlite:x.db"));
    }

    #[test]
    fn bad_bind_is_rejected() {
        let err = Config::load_from(None, &env(&[("AIMA_BIND", "localhost")])).expect_err("fail");
        assert!(err.to_string().contains("bind"), "{err}");
    }

    #[test]
    fn llm_settings_from_env_are_parsed_and_checked() {
        let c = Config::load_from(
            None,
            &env(&[
                ("AIMA_LLM_PROVIDER", "openai"),
                ("AIMA_LLM_BASE_URL", "http://127.0.0.1:11434/v1"),
                ("AIMA_LLM_TIMEOUT_SECS", "7"),
                ("AIMA_LLM_PRICE_PROMPT_PER_MTOK", "0.15"),
            ]),
        )
        .expect("c");
        assert_eq!(c.llm_provider, "openai");
        assert_eq!(c.llm_timeout_secs, 7);
        assert_eq!(c.llm_price_prompt_per_mtok, Some(0.15));
        assert_eq!(c.llm_price_completion_per_mtok, None);
        let err = Config::load_from(None, &env(&[("AIMA_LLM_PROVIDER", "gpt")])).expect_err("e");
        assert!(err.to_string().contains("llm_provider"), "{err}");
        let err =
            Config::load_from(None, &env(&[("AIMA_LLM_TIMEOUT_SECS", "soon")])).expect_err("e");
        assert!(err.to_string().contains("llm_timeout_secs"), "{err}");
        let err = Config::load_from(None, &env(&[("AIMA_LLM_PRICE_PROMPT_PER_MTOK", "-1")]))
            .expect_err("e");
        assert!(
            err.to_string().contains("llm_price_prompt_per_mtok"),
            "{err}"
        );
    }

    #[test]
    fn vector_index_is_embedded_unless_a_qdrant_server_is_set() {
        let c = Config::load_from(None, &env(&[("AIMA_DATA_DIR", "/d")])).expect("c");
        assert_eq!(
            c.vector_backend(),
            VectorBackend::Embedded(PathBuf::from("/d/vectors"))
        );
        let c = Config::load_from(
            None,
            &env(&[
                ("AIMA_QDRANT_URL", "http://qdrant:6334"),
                ("AIMA_QDRANT_API_KEY", "k"),
            ]),
        )
        .expect("c");
        match c.vector_backend() {
            VectorBackend::Server(server) => {
                assert_eq!(server.url, "http://qdrant:6334");
                assert_eq!(server.api_key.as_deref(), Some("k"));
            }
            other => panic!("expected a server, got {other:?}"),
        }
        // The key is a secret: `aima config` never prints it.
        assert!(
            !toml::to_string(&c)
                .expect("toml")
                .contains("qdrant_api_key")
        );
        let err =
            Config::load_from(None, &env(&[("AIMA_QDRANT_URL", "qdrant:6334")])).expect_err("e");
        assert!(err.to_string().contains("qdrant_url"), "{err}");
    }

    #[test]
    fn every_setting_is_documented_in_the_table() {
        let table = Config::markdown_table();
        for s in SETTINGS {
            assert!(table.contains(s.env), "{}", s.env);
        }
    }
}
