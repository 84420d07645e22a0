//! The brands a new store starts with: those most sold in China, by their
//! usual Chinese names. The order is the id order (1..N) and must never
//! change: cards already issued refer to these ids.

pub const SEED: &[&str] = &[
    "大众", "丰田", "本田", "日产", "别克", "雪佛兰", "福特", "现代", "起亚", "马自达",
    "奥迪", "宝马", "奔驰", "雷克萨斯", "沃尔沃", "凯迪拉克", "斯柯达", "标致", "雪铁龙", "三菱",
    "比亚迪", "吉利", "长安", "长城", "哈弗", "奇瑞", "荣威", "名爵", "五菱", "宝骏",
    "红旗", "传祺", "领克", "坦克", "东风", "一汽", "北汽", "江淮", "特斯拉", "蔚来",
    "小鹏", "理想", "问界", "极氪", "零跑", "哪吒", "埃安", "小米", "保时捷", "路虎",
    "捷豹", "Jeep", "林肯", "英菲尼迪", "斯巴鲁", "铃木", "MINI", "smart",
];
