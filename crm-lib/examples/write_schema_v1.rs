//! Writes `fixtures/db/schema-v1.redb`: a small data file in the oldest schema this program
//! migrates, for the migration test. Run from the workspace root:
//! `cargo run -p crm-lib --example write_schema_v1 -- fixtures/db/schema-v1.redb`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: write_schema_v1 OUT.redb")?;
    if std::path::Path::new(&path).exists() {
        return Err(format!("{path} exists; remove it first").into());
    }
    crm_lib::write_schema_v1_file(std::path::Path::new(&path))?;
    println!("wrote {path}");
    Ok(())
}
