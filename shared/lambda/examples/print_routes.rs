//! Prints `function<TAB>path` for every served HTTP path, sorted by path.
//! `infra/gen-template.py` reads this to write the HTTP API routes of template.yaml.

fn main() {
    for (path, function) in onecard_lambda::served_paths() {
        println!("{function}\t{path}");
    }
}
