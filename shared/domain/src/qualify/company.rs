//! Company names as people type them, reduced to a matching core.
//!
//! "北京纷扬科技有限公司", "北京纷扬", "纷扬科技" and "纷扬科技(北京)有限公司" are one
//! company: the core drops region prefixes, legal-form suffixes and generic industry
//! words, in a loop until nothing more comes off. If stripping would leave nothing
//! ("北京科技有限公司"), the last non-empty form is kept, so the core is never empty and
//! normalising a core again returns it unchanged.

use crate::lead::normalize::fold_width;

/// Legal forms, longest first so "股份有限公司" is not cut as "有限公司" + "股份".
const LEGAL_SUFFIXES_CJK: &[&str] = &[
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "集团股份有限公司",
    "有限公司",
    "分公司",
    "总公司",
    "控股",
    "集团",
    "公司",
    "合伙企业",
    "工作室",
    "事务所",
    "研究院",
];

const LEGAL_SUFFIXES_LATIN: &[&str] = &[
    "co",
    "company",
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "llc",
    "llp",
    "corp",
    "corporation",
    "plc",
    "gmbh",
    "ag",
    "sa",
    "bv",
    "pte",
    "pty",
    "group",
    "holdings",
    "holding",
    "kk",
];

/// Generic industry words that carry no identity ("纷扬科技" is "纷扬").
const INDUSTRY_WORDS_CJK: &[&str] = &[
    "信息技术",
    "网络科技",
    "智能科技",
    "电子商务",
    "科技发展",
    "技术服务",
    "软件开发",
    "管理咨询",
    "文化传媒",
    "数据服务",
    "生物科技",
    "医疗器械",
    "新能源",
    "科技",
    "技术",
    "信息",
    "网络",
    "软件",
    "电子",
    "商务",
    "贸易",
    "实业",
    "发展",
    "咨询",
    "服务",
    "管理",
    "文化",
    "传媒",
    "智能",
    "数据",
    "数字",
    "投资",
    "国际",
    "通信",
    "系统",
    "工程",
    "设备",
    "制造",
    "物流",
    "教育",
    "医疗",
    "生物",
    "能源",
    "广告",
    "营销",
];

const INDUSTRY_WORDS_LATIN: &[&str] = &[
    "technology",
    "technologies",
    "tech",
    "software",
    "information",
    "network",
    "networks",
    "solutions",
    "solution",
    "consulting",
    "services",
    "service",
    "trading",
    "international",
    "systems",
    "system",
    "digital",
    "data",
    "global",
    "industries",
    "industrial",
    "labs",
    "computer",
    "computers",
    "investment",
    "investments",
    "electronics",
];

/// Provinces, municipalities and large cities, plus "中国"; with their 省/市/自治区 forms
/// tried first.
pub(crate) const REGIONS: &[&str] = &[
    "中国",
    "北京",
    "上海",
    "天津",
    "重庆",
    "河北",
    "山西",
    "辽宁",
    "吉林",
    "黑龙江",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "海南",
    "四川",
    "贵州",
    "云南",
    "陕西",
    "甘肃",
    "青海",
    "台湾",
    "内蒙古",
    "广西",
    "西藏",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
    "深圳",
    "广州",
    "杭州",
    "南京",
    "苏州",
    "成都",
    "武汉",
    "西安",
    "长沙",
    "郑州",
    "济南",
    "青岛",
    "大连",
    "沈阳",
    "厦门",
    "宁波",
    "无锡",
    "合肥",
    "福州",
    "东莞",
    "佛山",
    "珠海",
    "昆明",
    "南昌",
    "石家庄",
    "太原",
    "哈尔滨",
    "长春",
    "贵阳",
    "南宁",
    "兰州",
    "海口",
    "乌鲁木齐",
    "呼和浩特",
    "银川",
    "西宁",
    "拉萨",
];

/// Administrative suffixes a region may carry ("北京市", "广西壮族自治区" is not covered).
const REGION_FORMS: &[&str] = &["特别行政区", "自治区", "省", "市"];

const LATIN_REGIONS: &[&str] = &["china", "beijing", "shanghai", "shenzhen", "guangzhou", "hangzhou"];

/// The matching core of a company name. Empty input gives an empty core.
pub fn core_name(raw: &str) -> String {
    let lowered = fold_width(raw).to_lowercase();
    let mut without_paren_regions = drop_parenthesised_regions(&lowered);
    if !without_paren_regions.chars().any(char::is_alphanumeric) {
        // Nothing but a bracketed region ("（北京）"): that region is the whole name, and
        // the core must not come out empty.
        without_paren_regions = lowered;
    }
    let mut tokens: Vec<String> = without_paren_regions
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    strip_latin_tokens(&mut tokens);
    let joined: String = tokens.concat();
    let mut current = joined.as_str();
    loop {
        let next = strip_once(current);
        if next == current || next.is_empty() {
            return current.to_string();
        }
        current = next;
    }
}

fn strip_latin_tokens(tokens: &mut Vec<String>) {
    while tokens.len() > 1 {
        let last = tokens.last().map(String::as_str).unwrap_or_default();
        if LEGAL_SUFFIXES_LATIN.contains(&last) || INDUSTRY_WORDS_LATIN.contains(&last) {
            tokens.pop();
        } else {
            break;
        }
    }
    while tokens.len() > 1 && LATIN_REGIONS.contains(&tokens[0].as_str()) {
        tokens.remove(0);
    }
}

/// One round: a legal suffix, else an industry word at the end, else a region prefix.
fn strip_once(name: &str) -> &str {
    for suffix in LEGAL_SUFFIXES_CJK.iter().chain(INDUSTRY_WORDS_CJK) {
        if let Some(rest) = name.strip_suffix(suffix) {
            return rest;
        }
    }
    strip_region_prefix(name).unwrap_or(name)
}

/// "北京市纷扬" → "纷扬", "北京纷扬" → "纷扬".
fn strip_region_prefix(name: &str) -> Option<&str> {
    REGIONS.iter().find_map(|region| {
        let rest = name.strip_prefix(region)?;
        Some(
            REGION_FORMS
                .iter()
                .find_map(|form| rest.strip_prefix(form))
                .unwrap_or(rest),
        )
    })
}

fn is_region(text: &str) -> bool {
    let text = text.trim();
    LATIN_REGIONS.contains(&text)
        || REGIONS.iter().any(|region| {
            text.strip_prefix(region)
                .is_some_and(|rest| rest.is_empty() || REGION_FORMS.contains(&rest))
        })
}

/// "纷扬科技(北京)有限公司" → "纷扬科技有限公司"; other parentheses are kept as text.
fn drop_parenthesised_regions(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(open) = rest.find(['(', '（']) {
        let (before, from_open) = rest.split_at(open);
        out.push_str(before);
        let open_len = from_open.chars().next().map_or(1, char::len_utf8);
        let inner_and_after = &from_open[open_len..];
        match inner_and_after.find([')', '）']) {
            Some(close) if is_region(&inner_and_after[..close]) => {
                let close_len = inner_and_after[close..].chars().next().map_or(1, char::len_utf8);
                rest = &inner_and_after[close + close_len..];
            }
            _ => {
                out.push_str(&from_open[..open_len]);
                rest = inner_and_after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_company_many_spellings() {
        for spelling in [
            "北京纷扬科技有限公司",
            "北京纷扬",
            "纷扬科技",
            "纷扬科技(北京)有限公司",
            "纷扬科技（北京）有限公司",
            "北京市纷扬科技有限公司",
            "纷扬",
            " 北京 纷扬 科技 ",
        ] {
            assert_eq!(core_name(spelling), "纷扬", "{spelling:?}");
        }
    }

    #[test]
    fn a_name_that_is_only_a_bracketed_region_keeps_it() {
        // Found by the `company` fuzz target: the region was dropped and the core came
        // out empty, which the module promises never happens for a name with letters.
        for name in ["(银川)", "（北京）", "((((银川)(((((银川)$"] {
            let core = core_name(name);
            assert!(!core.is_empty(), "{name:?}");
            assert_eq!(core_name(&core), core, "{name:?}");
        }
        assert_eq!(core_name("（北京）"), "北京");
    }

    #[test]
    fn latin_names() {
        for spelling in [
            "Acme Technologies Co., Ltd.",
            "ACME Inc",
            "acme",
            "Acme Software LLC",
            "ＡＣＭＥ Ltd",
        ] {
            assert_eq!(core_name(spelling), "acme", "{spelling:?}");
        }
    }

    /// Real-looking spellings, grouped by the company they mean.
    #[test]
    fn forty_odd_variants_reduce_to_their_company() {
        let groups: &[(&str, &[&str])] = &[
            (
                "纷扬",
                &[
                    "北京纷扬科技有限公司",
                    "北京纷扬",
                    "纷扬科技",
                    "纷扬科技(北京)有限公司",
                    "北京市纷扬科技有限公司",
                    "纷扬",
                ],
            ),
            (
                "云帆",
                &[
                    "上海云帆信息技术有限公司",
                    "云帆信息",
                    "上海云帆",
                    "云帆信息技术（上海）有限公司",
                    "上海市 云帆",
                ],
            ),
            (
                "腾云",
                &[
                    "深圳市腾云网络科技有限公司",
                    "腾云网络",
                    "深圳腾云科技",
                    "腾云网络科技有限公司",
                ],
            ),
            (
                "华瑞",
                &[
                    "华瑞集团",
                    "华瑞集团有限公司",
                    "华瑞控股集团",
                    "浙江华瑞股份有限公司",
                    "杭州华瑞",
                ],
            ),
            (
                "金桥",
                &[
                    "广州金桥贸易有限公司",
                    "金桥贸易",
                    "广东金桥实业有限公司",
                    "广东省金桥实业",
                ],
            ),
            (
                "智远",
                &[
                    "成都智远软件开发有限公司",
                    "智远软件",
                    "四川智远",
                    "智远软件有限责任公司",
                ],
            ),
            ("星河", &["星河文化传媒有限公司", "北京星河文化传媒", "星河传媒"]),
            (
                "acme",
                &[
                    "Acme Technologies Co., Ltd.",
                    "ACME Inc",
                    "Acme Software LLC",
                    "acme corporation",
                    "Acme Group Holdings",
                ],
            ),
            (
                "alibaba",
                &["Alibaba Group Holding Limited", "Alibaba (China) Co., Ltd.", "ALIBABA"],
            ),
            (
                "tencent",
                &[
                    "Tencent Holdings Ltd",
                    "Shenzhen Tencent Computer Systems Co., Ltd.",
                    "tencent",
                ],
            ),
            (
                "huawei",
                &["Huawei Technologies Co., Ltd.", "HUAWEI", "Huawei Investment"],
            ),
            (
                "bytedance",
                &["ByteDance Ltd.", "Bytedance Technology Co., Ltd", "bytedance"],
            ),
        ];
        let mut count = 0;
        for (core, spellings) in groups {
            for spelling in *spellings {
                assert_eq!(core_name(spelling), *core, "{spelling:?}");
                count += 1;
            }
        }
        assert!(count >= 40, "{count} variants");
    }

    #[test]
    fn different_companies_stay_different() {
        for (a, b) in [
            ("纷扬科技", "纷飞科技"),
            ("华瑞集团", "华为技术有限公司"),
            ("Acme Ltd", "Apex Ltd"),
            ("云帆信息", "云帆石化"),
        ] {
            assert_ne!(core_name(a), core_name(b), "{a} / {b}");
        }
    }

    #[test]
    fn never_strips_to_nothing() {
        assert_eq!(core_name("北京科技有限公司"), "北京");
        assert_eq!(core_name("Technology Ltd"), "technology");
        assert_eq!(core_name(""), "");
    }
}
