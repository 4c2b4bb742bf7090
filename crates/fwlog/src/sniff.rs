//! Recognising a netfilter syslog file by its content, never by its name.

use crate::fields::parse_fields;
use crate::header::parse_header;
use crate::parser::find_netfilter;

/// Enough lines to find a firewall line among other programs' lines, few
/// enough to stay cheap.
const MAX_LINES: usize = 500;

/// True when `first_bytes` (the start of a file, any length) looks like a
/// syslog or journal text file holding netfilter log lines: text, mostly
/// lines with a syslog timestamp, and at least one complete netfilter line
/// among them.
///
/// Says no to binary data (NUL or other control bytes), JSON, CSV and
/// OpenBSD pf text logs (which have syslog-like stamps but no `IN=… SRC=…`
/// fields). A syslog file whose first bytes hold no firewall line at all
/// also gets a no: there is nothing in it to tell it apart.
pub fn sniff(first_bytes: &[u8]) -> bool {
    if first_bytes.contains(&0) {
        return false;
    }
    let controls = first_bytes
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n'))
        .count();
    if controls * 100 > first_bytes.len() {
        return false;
    }
    match first_bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None | Some(b'{' | b'[') => return false,
        Some(_) => {}
    }
    // The sample may end inside a line; judge complete lines only.
    let body = match memchr::memrchr(b'\n', first_bytes) {
        Some(end) => &first_bytes[..end],
        None => first_bytes,
    };
    let (mut lines, mut stamped, mut netfilter) = (0usize, 0usize, 0usize);
    for raw in body.split(|&b| b == b'\n').take(MAX_LINES) {
        let Ok(line) = std::str::from_utf8(raw) else {
            lines += 1;
            continue;
        };
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        lines += 1;
        let Ok(header) = parse_header(line) else {
            continue;
        };
        stamped += 1;
        if let Some(at) = find_netfilter(header.rest) {
            netfilter += usize::from(parse_fields(&header.rest[at..]).is_ok());
        }
    }
    netfilter > 0 && stamped * 2 >= lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "Mar 11 20:35:11 linux kernel: [463490.251762] DROP IN=eth1 OUT= \
        MAC=23:87:fc:c6:24:58:00:21:3f:98:99:78:09:00 SRC=192.168.10.55 DST=192.168.10.1 LEN=44 \
        TOS=0x00 PREC=0x00 TTL=53 ID=15270 PROTO=TCP SPT=56247 DPT=1025 WINDOW=3072 RES=0x00 SYN \
        URGP=0 OPT (020405B4) \n";

    #[test]
    fn says_yes_to_netfilter_syslog() {
        assert!(sniff(LINE.as_bytes()));
        let mixed = format!(
            "Mar 11 20:35:10 linux sshd[42]: Accepted publickey for x\n{LINE}\
             Mar 11 20:35:12 linux CRON[7]: (root) CMD (true)\n"
        );
        assert!(sniff(mixed.as_bytes()));
        // A sample cut in the middle of its last line.
        let cut = format!("{LINE}{}", &LINE[..60]);
        assert!(sniff(cut.as_bytes()));
        let iso = "2015-03-07T05:09:30.045015+02:00 servername kernel: DROP: IN=eth0 OUT= \
            SRC=4.4.4.4 DST=1.2.3.4 LEN=40 TTL=228 ID=54321 PROTO=TCP SPT=58923 DPT=21 \
            WINDOW=65535 RES=0x00 SYN URGP=0\r\n";
        assert!(sniff(iso.as_bytes()));
    }

    #[test]
    fn says_no_to_other_formats() {
        let pf = b"Mar 29 19:32:17.184835 rule 4/(match) [uid 0, pid 10758] block in on em0: \
            192.168.56.1.53614 > 192.168.56.101.1435: S [tcp sum ok] 786092310:786092310(0) \
            win 3072 <mss 1460> (ttl 42, id 1076, len 44)\n";
        assert!(!sniff(pf));
        let json = format!("{{\"message\": {:?}}}\n", LINE);
        assert!(!sniff(json.as_bytes()));
        assert!(!sniff(b"[{\"a\": 1}]"));
        let csv = format!("ts,line\n2019-08-21,\"{}\"\nx,y\n", LINE.trim());
        assert!(!sniff(csv.as_bytes()));
        let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        pcap.extend_from_slice(LINE.as_bytes());
        assert!(!sniff(&pcap));
        assert!(!sniff(b""));
        assert!(!sniff(b"   \n\n"));
        // Syslog without a single firewall line: nothing to recognise.
        assert!(!sniff(
            b"Mar 11 20:35:10 linux sshd[42]: Accepted publickey\n"
        ));
        // A firewall line drowned in text without stamps.
        let drowned = format!("{LINE}a\nb\nc\n");
        assert!(!sniff(drowned.as_bytes()));
    }
}
