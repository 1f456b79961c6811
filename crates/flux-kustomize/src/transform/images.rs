//! `images:`: rewrites container image names, tags and digests.

use regex::Regex;
use serde_json::Value;

use crate::field_spec::{FieldSpec, split_path, visit_path};
use crate::kustomization::Image;
use crate::resource::Resource;

/// Splits `name[:tag][@digest]` as kustomize does (a registry port is part of the name).
pub fn split_image(image: &str) -> (String, String, String) {
    let slash = image.find('/').filter(|&i| i > 0).unwrap_or(0);
    let search = &image[slash..];
    let id = search.find('@');
    let ic = search.find(':');
    match (ic, id) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (ic, Some(d)) if ic.is_none_or(|c| d < c) => {
            let d = d + slash;
            (
                image[..d].to_string(),
                String::new(),
                image[d + 1..].to_string(),
            )
        }
        (Some(c), Some(d)) => {
            let (c, d) = (c + slash, d + slash);
            (
                image[..c].to_string(),
                image[c + 1..d].to_string(),
                image[d + 1..].to_string(),
            )
        }
        (Some(c), None) => {
            let c = c + slash;
            (
                image[..c].to_string(),
                image[c + 1..].to_string(),
                String::new(),
            )
        }
        (None, Some(_)) => (image.to_string(), String::new(), String::new()),
    }
}

struct Updater {
    spec: Image,
    pattern: Option<Regex>,
}

impl Updater {
    fn new(spec: &Image) -> Self {
        let pattern = Regex::new(&format!(
            "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$",
            spec.name
        ))
        .ok();
        Updater {
            spec: spec.clone(),
            pattern,
        }
    }

    fn update(&self, node: &mut Value) {
        let Some(value) = node.as_str() else {
            return;
        };
        if !self.pattern.as_ref().is_some_and(|p| p.is_match(value)) {
            return;
        }
        let (mut name, mut tag, mut digest) = split_image(value);
        let s = &self.spec;
        if !s.new_name.is_empty() {
            name = s.new_name.clone();
        }
        if !s.new_tag.is_empty() && !s.digest.is_empty() {
            tag = s.new_tag.clone();
            digest = s.digest.clone();
        } else if !s.new_tag.is_empty() {
            tag = s.new_tag.clone();
            digest.clear();
        } else if !s.digest.is_empty() {
            tag.clear();
            digest = s.digest.clone();
        } else if !s.tag_suffix.is_empty() {
            tag.push_str(&s.tag_suffix);
            digest.clear();
        }
        if !tag.is_empty() {
            name = format!("{name}:{tag}");
        }
        if !digest.is_empty() {
            name = format!("{name}@{digest}");
        }
        *node = Value::String(name);
    }

    /// kustomize's legacy walk: `image` of every element of any `containers` /
    /// `initContainers` list, anywhere in the object.
    fn walk(&self, node: &mut Value) {
        match node {
            Value::Object(m) => {
                for (k, v) in m.iter_mut() {
                    self.walk(v);
                    if (k == "containers" || k == "initContainers")
                        && let Value::Array(items) = v
                    {
                        for item in items {
                            if let Some(img) = item.get_mut("image") {
                                self.update(img);
                            }
                        }
                    }
                }
            }
            Value::Array(a) => {
                for x in a {
                    self.walk(x);
                }
            }
            _ => {}
        }
    }
}

/// Applies one `images` entry.
pub fn apply(resources: &mut [Resource], spec: &Image, specs: &[FieldSpec]) -> Result<(), String> {
    let u = Updater::new(spec);
    for r in resources.iter_mut() {
        let gvk = r.gvk();
        let mut root = Value::Object(std::mem::take(&mut r.obj));
        if gvk.kind != "CustomResourceDefinition" {
            u.walk(&mut root);
        }
        for fs in specs {
            if !gvk.is_selected_by(&fs.gvk) {
                continue;
            }
            // Creation of a missing image field is pointless: nothing would match it.
            let _ = visit_path(&mut root, &split_path(&fs.path), None, &mut |n| {
                u.update(n);
                Ok(())
            });
        }
        if let Value::Object(m) = root {
            r.obj = m;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field_spec::TransformerConfig;
    use crate::transform::test_objects::resources;

    #[test]
    fn split_handles_ports_tags_and_digests() {
        assert_eq!(
            split_image("localhost:5000/app:1.0"),
            ("localhost:5000/app".into(), "1.0".into(), String::new())
        );
        assert_eq!(
            split_image("nginx@sha256:abc"),
            ("nginx".into(), String::new(), "sha256:abc".into())
        );
        assert_eq!(
            split_image("nginx"),
            ("nginx".into(), String::new(), String::new())
        );
    }

    #[test]
    fn rewrites_name_and_tag_everywhere() {
        let mut rs = resources(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: nginx:1.0}, {name: b, image: nginx-other}]\n      initContainers: [{name: i, image: nginx}]\n",
        );
        let c = TransformerConfig::defaults();
        let img = Image {
            name: "nginx".into(),
            new_name: "reg/nginx".into(),
            new_tag: "2.0".into(),
            ..Default::default()
        };
        assert!(apply(&mut rs, &img, &c.images).is_ok());
        let spec = &rs[0].obj["spec"]["template"]["spec"];
        assert_eq!(spec["containers"][0]["image"], "reg/nginx:2.0");
        assert_eq!(spec["containers"][1]["image"], "nginx-other");
        assert_eq!(spec["initContainers"][0]["image"], "reg/nginx:2.0");
    }
}
