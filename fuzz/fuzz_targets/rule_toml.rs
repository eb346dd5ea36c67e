#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tripline_fuzz::rule_toml::run(data));
