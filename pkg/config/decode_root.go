package config

// rootSpec is the top level of a configuration.
var rootSpec = blockSpec[Config]{
	kws: mergeEntries(liftProcessKeywords(), map[string]entry[Config]{
		"global_defs": blk(func(d *decoder, n *node, c *Config) {
			defer d.enter("global_defs")()
			if !c.Global.Pos.IsValid() {
				c.Global.Pos = n.pos
			}
			decodeBlock(d, &globalSpec, "global_defs", n.children, &c.Global)
		}),
		"linkbeat_interfaces":      blk(decodeLinkbeat),
		"interface_up_down_delays": blk(decodeInterfaceDelays),
		"track_group":              blk(decodeTrackGroup),
		"static_ipaddress": blk(func(d *decoder, n *node, c *Config) {
			c.StaticAddresses = append(c.StaticAddresses, d.addressList(n, "static_ipaddress", addrOptions{trackGroup: true})...)
		}),
		"static_routes": blk(func(d *decoder, n *node, c *Config) {
			c.StaticRoutes = append(c.StaticRoutes, d.routeList(n, "static_routes", false)...)
		}),
		"static_rules": blk(func(d *decoder, n *node, c *Config) {
			c.StaticRules = append(c.StaticRules, d.ruleList(n, "static_rules", false)...)
		}),
		"bfd_instance":         blk(decodeBFDInstance),
		"vrrp_script":          blk(decodeVRRPScript),
		"vrrp_track_process":   blk(decodeTrackProcess),
		"track_file":           blk(decodeTrackFile),
		"garp_group":           blk(decodeGARPGroup),
		"vrrp_sync_group":      blk(decodeSyncGroup),
		"vrrp_instance":        blk(decodeVRRPInstance),
		"SSL":                  blk(decodeSSL),
		"virtual_server_group": blk(decodeVSGroup),
		"virtual_server":       blk(decodeVirtualServer),
	}),
	aliases: map[string]string{"vrrp_track_file": "track_file"},
}

// liftProcessKeywords makes the process keywords (net_namespace,
// instance, ...) top-level keywords, as in keepalived; they are decoded
// into GlobalDefs.
func liftProcessKeywords() map[string]entry[Config] {
	out := map[string]entry[Config]{}
	for name, e := range processKeywords {
		out[name] = kw(func(d *decoder, n *node, c *Config) {
			c.Global.markSet(name)
			e.fn(d, n, &c.Global)
		})
	}
	return out
}

// topLevelBlocks are the top-level keywords that open a block; seen inside
// another block, they usually mean a missing '}'.
var topLevelBlocks = map[string]bool{
	"global_defs": true, "linkbeat_interfaces": true, "interface_up_down_delays": true,
	"track_group": true, "static_ipaddress": true, "static_routes": true, "static_rules": true,
	"bfd_instance": true, "vrrp_script": true, "vrrp_track_process": true, "track_file": true,
	"vrrp_track_file": true, "garp_group": true, "vrrp_sync_group": true, "vrrp_instance": true,
	"SSL": true, "virtual_server_group": true, "virtual_server": true,
}

// nestedOnly are keywords that belong inside one kind of block; anywhere
// else they are an error, not an unknown keyword.
var nestedOnly = map[string]string{
	"real_server":                "virtual_server",
	"sorry_server":               "virtual_server",
	"TCP_CHECK":                  "real_server",
	"HTTP_GET":                   "real_server",
	"SSL_GET":                    "real_server",
	"MISC_CHECK":                 "real_server",
	"SMTP_CHECK":                 "real_server",
	"DNS_CHECK":                  "real_server",
	"UDP_CHECK":                  "real_server",
	"PING_CHECK":                 "real_server",
	"FILE_CHECK":                 "real_server",
	"BFD_CHECK":                  "real_server",
	"url":                        "HTTP_GET or SSL_GET",
	"virtual_ipaddress":          "vrrp_instance",
	"virtual_ipaddress_excluded": "vrrp_instance",
	"virtual_router_id":          "vrrp_instance",
	"authentication":             "vrrp_instance",
}
