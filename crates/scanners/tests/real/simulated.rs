//! `tool_of` against the simulator's tool styles: each campaign's probes go
//! to their own port, so the port says which style wrote them.

use std::collections::BTreeMap;

use portwatch_core::{Class, Proto};
use portwatch_scanners::{Tool, tool_of};
use portwatch_simulate::{SimConfig, simulate};

use crate::for_each_event;

#[test]
fn simulated_styles_agree() {
    let styles = [
        ("zmap", Tool::ZMap),
        ("masscan", Tool::Masscan),
        ("mirai", Tool::Mirai),
        ("nmap", Tool::Nmap),
        ("unicornscan", Tool::Unicornscan),
        ("linux", Tool::Unknown),
        ("windows", Tool::Unknown),
    ];
    let campaigns = styles
        .iter()
        .enumerate()
        .map(|(i, (style, _))| {
            format!(
                "{}/tcp@1m+5m,sources=20,packets=500,tool={style}",
                61_001 + i
            )
            .parse()
            .expect("a campaign")
        })
        .collect();
    let cfg = SimConfig {
        duration_secs: 600,
        total_packets: Some(0),
        campaigns,
        ..SimConfig::default()
    };
    let dir = std::env::temp_dir().join(format!("portwatch-scanners-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("sim.pcap");
    let file = std::fs::File::create(&path).expect("pcap file");
    simulate(&cfg, std::io::BufWriter::new(file)).expect("simulation");

    let mut tally: BTreeMap<(u16, Tool), u64> = BTreeMap::new();
    for_each_event(&path, |ev| {
        if ev.class == Class::Probe && ev.proto == Some(Proto::Tcp) {
            *tally.entry((ev.dport, tool_of(ev))).or_default() += 1;
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
    for (i, (style, tool)) in styles.iter().enumerate() {
        let port = 61_001 + i as u16;
        let on_port: BTreeMap<Tool, u64> = tally
            .iter()
            .filter(|((p, _), _)| *p == port)
            .map(|((_, t), n)| (*t, *n))
            .collect();
        assert_eq!(
            on_port,
            BTreeMap::from([(*tool, 500)]),
            "{style} on port {port}"
        );
    }
}
