//! The "tokenise floor" of the performance table: read the file, split every line on whitespace,
//! count the words, on one core. Nothing can parse a dump faster than it can do this.
//! `cargo run --release --example tokenise_floor -- FILE`

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: tokenise_floor FILE");
        std::process::exit(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    let (mut lines, mut words) = (0usize, 0usize);
    for line in text.lines() {
        lines += 1;
        words += line.split_ascii_whitespace().count();
    }
    println!("{lines} lines, {words} words");
}
