//! The default gateway, from the text of Linux's `/proc/net/route`: the route with
//! destination and mask 0.0.0.0 that is up and goes through a gateway (flags `RTF_UP` and
//! `RTF_GATEWAY`), the lowest metric first. Addresses there are the kernel's 32-bit values
//! printed in hexadecimal, so their bytes are in the machine's own order.

use std::net::Ipv4Addr;

const RTF_UP: u32 = 0x1;
const RTF_GATEWAY: u32 = 0x2;

/// A default route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultRoute {
    /// The interface it leaves by.
    pub interface: String,
    /// The gateway's address.
    pub gateway: Ipv4Addr,
}

/// The default route with the lowest metric, if any.
pub fn default_route(proc_net_route: &str) -> Option<DefaultRoute> {
    let mut best: Option<(u32, DefaultRoute)> = None;
    for line in proc_net_route.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 8 {
            continue;
        }
        let hex = |i: usize| u32::from_str_radix(fields[i], 16).ok();
        let (Some(dest), Some(gw), Some(flags), Some(mask)) = (hex(1), hex(2), hex(3), hex(7))
        else {
            continue;
        };
        let metric: u32 = fields[6].parse().unwrap_or(u32::MAX);
        if dest != 0 || mask != 0 || flags & (RTF_UP | RTF_GATEWAY) != RTF_UP | RTF_GATEWAY {
            continue;
        }
        let gateway = Ipv4Addr::from(gw.to_ne_bytes());
        if gateway.is_unspecified() {
            continue;
        }
        if best.as_ref().is_none_or(|(m, _)| metric < *m) {
            let interface = fields[0].to_string();
            best = Some((metric, DefaultRoute { interface, gateway }));
        }
    }
    best.map(|(_, route)| route)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The address as the kernel prints it on this machine.
    fn hex(ip: Ipv4Addr) -> String {
        format!("{:08X}", u32::from_ne_bytes(ip.octets()))
    }

    #[test]
    fn finds_the_lowest_metric_default_route() {
        let gw1 = hex(Ipv4Addr::new(192, 168, 77, 1));
        let gw2 = hex(Ipv4Addr::new(10, 0, 0, 1));
        let text = format!(
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
             eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
             wlan0\t00000000\t{gw2}\t0003\t0\t0\t600\t00000000\t0\t0\t0\n\
             eth0\t00000000\t{gw1}\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
             down0\t00000000\t{gw2}\t0002\t0\t0\t1\t00000000\t0\t0\t0\n\
             junk\n"
        );
        assert_eq!(
            default_route(&text),
            Some(DefaultRoute {
                interface: "eth0".into(),
                gateway: Ipv4Addr::new(192, 168, 77, 1)
            })
        );
        assert_eq!(default_route("Iface\n"), None);
        assert_eq!(default_route(""), None);
    }
}
