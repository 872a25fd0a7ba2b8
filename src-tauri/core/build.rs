// sqlx::migrate! embeds the migration files; rebuild when the folder changes
// so a new migration is never silently left out.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
