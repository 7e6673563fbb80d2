fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cfg = std::sync::Arc::new(
        gwmon::config::Config::load(std::path::Path::new("config/taiyuan.toml")).unwrap(),
    );
    let mut store = gwmon::store::open_store(
        cfg.clone(),
        std::path::Path::new(&args[1]),
        gwmon::store::Durability::Normal,
    )
    .unwrap();
    gwmon::sim::populate(
        &mut store,
        &cfg,
        42,
        "2020-01-01".parse().unwrap(),
        "2026-11-27".parse().unwrap(),
        5,
    )
    .unwrap();
}
