//! `/nodes/{node}/aplinfo`: PVE's appliance catalog (container templates of the `system` and
//! `turnkeylinux` sections), and downloading one of them onto a storage.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::de::{self, Extra};
use super::{nodes, ApiError, Client, Params};

/// One entry of the catalog, with the lower-cased keys of PVE's `aplinfo.dat`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Appliance {
    /// The file name it is stored under, and what `POST aplinfo` takes.
    pub template: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub package: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub version: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub section: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub os: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub headline: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Appliance {
    /// Whether `word` appears (case-insensitively) in its name, package, OS, headline or
    /// description.
    pub fn matches(&self, word: &str) -> bool {
        let word = word.to_lowercase();
        let description = self.extra.get("description").and_then(Value::as_str);
        [
            Some(self.template.as_str()),
            self.package.as_deref(),
            self.os.as_deref(),
            self.headline.as_deref(),
            description,
        ]
        .into_iter()
        .flatten()
        .any(|t| t.to_lowercase().contains(&word))
    }
}

fn path(node: &str) -> String {
    format!("{}/aplinfo", nodes::path(node))
}

/// `GET /nodes/{node}/aplinfo`: the catalog as the node last fetched it.
pub async fn list(client: &Client, node: &str) -> Result<Vec<Appliance>, ApiError> {
    // Entries without a template name are no appliance (PVE's own news entry is filtered out).
    let raw: Vec<Value> = client
        .get(&path(node), &Params::new())
        .await
        .map_err(nodes::unknown(node))?;
    Ok(raw
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect())
}

/// `POST /nodes/{node}/aplinfo` (`storage`, `template`): the node downloads the template and
/// checks its checksum; a UPID (`download`). An unknown template is PVE's 400 "no such template".
pub async fn download(
    client: &Client,
    node: &str,
    storage: &str,
    template: &str,
) -> Result<Value, ApiError> {
    let params = Params::new()
        .set("storage", storage)
        .set("template", template);
    client
        .post(&path(node), &params)
        .await
        .map_err(nodes::unknown(node))
}
