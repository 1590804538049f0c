//! Placeholder until the text engine's commands land.
pub fn analyze(_: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
pub fn eval(_: &std::path::Path) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
pub fn bench(_: &std::path::Path) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
