//! Company names as people type them, reduced to a matching core.
//!
//! "北京纷扬科技有限公司", "北京纷扬", "纷扬科技" and "纷扬科技(北京)有限公司" are one
//! company: the core drops region prefixes, legal-form suffixes and generic industry
//! words, in a loop until nothing more comes off. If stripping would leave nothing
//! ("北京科技有限公司"), the last non-empty form is kept, so the core is never empty and
//! normalising a core again returns it unchanged.
//!
//! A region is an identity only when nothing else is: "广州地铁集团有限公司" and
//! "深圳市地铁集团有限公司" are two companies, so when all that follows the region is
//! industry or public-service words ([`REGIONAL_WORDS`], 地铁, 银行, 电力, 大学, …) the
//! region stays in the core ("广州地铁", "深圳地铁"), while a brand drops it ("北京纷扬科技"
//! is "纷扬").

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
    "律师",
];

/// Words that name a kind of public service or a whole industry rather than a company:
/// after a region they are the whole identity ("广州地铁", "北京银行", "浙江移动"), so the
/// region is kept with them. Together with [`INDUSTRY_WORDS_CJK`] they decide whether a
/// name is "region + generic words only". Kept to words that are regularly the entire
/// rest of a real name; a brand word here would wrongly keep its region.
pub(crate) const REGIONAL_WORDS: &[&str] = &[
    // transport
    "轨道交通",
    "地铁",
    "公交",
    "交通",
    "交投",
    "铁路",
    "高速",
    "机场",
    "港务局",
    "港务",
    "港口",
    "航空",
    "民航",
    // finance
    "农村商业银行",
    "农商银行",
    "商业银行",
    "银行",
    "信用社",
    "证券",
    "保险",
    "信托",
    // utilities and energy
    "电网",
    "电力",
    "供电",
    "燃气",
    "水务",
    "自来水",
    "供水",
    "热力",
    "水利",
    "石油",
    "石化",
    "烟草",
    "邮政",
    // telecoms and media
    "移动",
    "联通",
    "电信",
    "广播电视台",
    "电视台",
    "广播",
    "日报",
    "晚报",
    "报业",
    "出版",
    // public institutions
    "人民医院",
    "中医院",
    "医院",
    "大学",
    "学院",
    "中学",
    "小学",
    // state investment and building
    "城投",
    "城建",
    "国资",
    "建设",
    "建工",
    "投资",
    "发展",
    "文旅",
    "旅游",
    "环保",
    "农业",
    "体育",
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
        if let Some(kept) = regional_core(current) {
            return kept;
        }
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

/// One round: a legal suffix, else an industry word at the end, else a region prefix,
/// else a region at the end (a branch: "汇通物流有限公司北京分公司").
fn strip_once(name: &str) -> &str {
    for suffix in LEGAL_SUFFIXES_CJK.iter().chain(INDUSTRY_WORDS_CJK) {
        if let Some(rest) = name.strip_suffix(suffix) {
            return rest;
        }
    }
    strip_region_prefix(name)
        .map(|(_, rest)| rest)
        .or_else(|| strip_region_suffix(name))
        .unwrap_or(name)
}

/// "北京市纷扬" → ("北京", "纷扬"), "北京纷扬" → ("北京", "纷扬").
fn strip_region_prefix(name: &str) -> Option<(&'static str, &str)> {
    REGIONS.iter().find_map(|region| {
        let rest = name.strip_prefix(region)?;
        Some((
            *region,
            REGION_FORMS
                .iter()
                .find_map(|form| rest.strip_prefix(form))
                .unwrap_or(rest),
        ))
    })
}

/// "汇通物流有限公司北京" → "汇通物流有限公司", when at least two characters remain.
fn strip_region_suffix(name: &str) -> Option<&str> {
    let without_form = REGION_FORMS
        .iter()
        .find_map(|form| name.strip_suffix(form))
        .unwrap_or(name);
    REGIONS
        .iter()
        .find_map(|region| without_form.strip_suffix(region))
        .filter(|rest| rest.chars().count() >= 2)
}

/// The region a core starts with, if it is a region-kept core or begins with one
/// ("广州地铁" → "广州"). Two cores in different regions are never a typo of each other.
pub fn region_prefix(core: &str) -> Option<&'static str> {
    strip_region_prefix(core).map(|(region, _)| region)
}

/// "深圳市地铁" → "深圳地铁": a region followed only by generic words keeps the region,
/// without its 市/省 form; trailing industry words come off while something remains
/// ("中国移动通信" → "中国移动", "广州发展" stays).
fn regional_core(name: &str) -> Option<String> {
    let (region, mut rest) = strip_region_prefix(name)?;
    if rest.is_empty() || !only_generic_words(rest) {
        return None;
    }
    while let Some(shorter) = INDUSTRY_WORDS_CJK
        .iter()
        .find_map(|w| rest.strip_suffix(w))
        .filter(|r| !r.is_empty())
    {
        rest = shorter;
    }
    Some(format!("{region}{rest}"))
}

/// Whether `text` is a run of industry or public-service words and nothing else.
fn only_generic_words(text: &str) -> bool {
    text.is_empty()
        || REGIONAL_WORDS
            .iter()
            .chain(INDUSTRY_WORDS_CJK)
            .any(|w| text.strip_prefix(w).is_some_and(only_generic_words))
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
    fn a_region_with_only_generic_words_keeps_the_region() {
        for (name, core) in [
            ("广州地铁集团有限公司", "广州地铁"),
            ("深圳市地铁集团有限公司", "深圳地铁"),
            ("北京银行股份有限公司", "北京银行"),
            ("中国移动通信集团有限公司", "中国移动"),
            ("广州发展集团股份有限公司", "广州发展"),
            ("湖南交通投资集团", "湖南交通"),
            ("浙江省电力公司", "浙江电力"),
        ] {
            assert_eq!(core_name(name), core, "{name:?}");
            assert_eq!(core_name(core), core, "idempotent: {core:?}");
        }
        assert_ne!(core_name("广州地铁"), core_name("深圳地铁"));
        // A brand still drops its region, at the start or after the company (a branch).
        assert_eq!(core_name("北京纷扬科技有限公司"), "纷扬");
        assert_eq!(core_name("汇通物流有限公司北京分公司"), "汇通");
        assert_eq!(region_prefix("广州地铁"), Some("广州"));
        assert_eq!(region_prefix("纷扬"), None);
    }

    #[test]
    fn never_strips_to_nothing() {
        assert_eq!(core_name("北京科技有限公司"), "北京科技", "a region and a generic word");
        assert_eq!(core_name("Technology Ltd"), "technology");
        assert_eq!(core_name(""), "");
    }
}
