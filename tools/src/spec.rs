//! What a tool is: its name, contract (input and output JSON Schemas), effect
//! and the module that answers it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Whether calling a tool changes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Reads data only; the planner may call it without asking.
    ReadOnly,
    /// Writes data or acts on the outside world; the planner pauses the
    /// thread for human approval before the call runs.
    SideEffecting,
}

/// The module (and so the actor) that answers a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Module {
    /// Customers, orders and imports as stored (no model involved).
    Data,
    /// M1 customer intelligence: features, segments, fingerprints, drift.
    M1,
    /// M2 campaign outcome prediction.
    M2,
    /// M3 content studio.
    M3,
    /// M4 brand monitor.
    M4,
    /// M5 attribution and budget optimization.
    M5,
    /// M6 CLV and churn.
    M6,
}

impl Module {
    /// Every module, in order.
    pub const ALL: [Module; 7] = [
        Module::Data,
        Module::M1,
        Module::M2,
        Module::M3,
        Module::M4,
        Module::M5,
        Module::M6,
    ];

    /// A short human name ("M6 CLV and churn").
    pub fn title(self) -> &'static str {
        match self {
            Module::Data => "data",
            Module::M1 => "M1 customer intelligence",
            Module::M2 => "M2 campaign prediction",
            Module::M3 => "M3 content studio",
            Module::M4 => "M4 brand monitor",
            Module::M5 => "M5 attribution",
            Module::M6 => "M6 CLV and churn",
        }
    }
}

/// One tool of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Unique snake_case name, e.g. `revenue_over_time`.
    pub name: String,
    /// What the tool answers, written for a model choosing among tools.
    pub description: String,
    /// Read-only or side-effecting.
    pub effect: Effect,
    /// The module whose actor answers it.
    pub module: Module,
    /// JSON Schema (draft 2020-12) of the arguments object.
    pub input_schema: Value,
    /// JSON Schema (draft 2020-12) of the result.
    pub output_schema: Value,
    /// Example questions this tool answers (used by the offline router and
    /// shown to models).
    pub examples: Vec<String>,
}
