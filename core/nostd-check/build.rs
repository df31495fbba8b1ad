fn main() {
    // The C runtime calls our `main`; we need only libc's `write` and `exit`.
    println!("cargo:rustc-link-lib=c");
}
