//! Prints every generated CRD as multi-document YAML.
fn main() -> anyhow::Result<()> {
    print!("{}", flux_api::crds::all_crds_yaml()?);
    Ok(())
}
