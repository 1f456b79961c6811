//! kustomize's built-in transformers, each over the list of resources being built.

pub mod images;
pub mod labels;
pub mod name_affix;
pub mod name_reference;
pub mod namespace;
pub mod patch;
pub mod replacement;
pub mod replicas;
pub mod vars;

#[cfg(test)]
pub(crate) mod test_objects {
    use crate::resource::Resource;

    /// Parses YAML documents into resources (test input).
    pub fn resources(yaml: &str) -> Vec<Resource> {
        flux_object::yaml::parse_documents(yaml)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| match v {
                serde_json::Value::Object(m) => Some(Resource::new(m)),
                _ => None,
            })
            .collect()
    }
}
