"""Triage's first reading: which complaints show an upset customer, in Chinese and English.

The phrasings are ours, written the way customers write: the angry ones must each show
at least one sign, the calm ones none (a false alarm sends a supervisor running).
"""

from __future__ import annotations

import pytest

from care.triage import Triage

TRIAGE = Triage()

ANGRY_ZH = [
    "门店店员态度恶劣，还骂人，太过分了！",
    "你们的客服态度太差了，问三遍都不回",
    "气死我了，买的东西用了一天就坏",
    "我真的很生气，快递员把包裹直接扔在门口",
    "这种服务简直无法接受",
    "骗子公司，收了钱不发货",
    "再不处理我就打12315",
    "我要去消协告你们",
    "垃圾服务，再也不买了",
    "质量差劲，洗一次就掉色",
    "说了多少遍了还是没人管",
    "到底什么时候退钱？",
    "你们这是欺骗消费者",
    "店员冲我吼，还甩脸色给我看",
    "打了五次电话都没人接，你们什么意思",
    "真是忍无可忍了，第三次送错货",
    "太离谱了，价格标错还不认账",
    "马上给我退钱，不然给差评",
    "客服一直踢皮球，推卸责任",
    "我已经受够了，请给个说法",
    "这是我第几次了？每次都坑人",
    "你们太让我失望了",
    "再这样我就找律师起诉你们",
    "简直无语，发来的是个破玩意",
]

CALM_ZH = [
    "快递还没到，麻烦帮我查一下",
    "请问我的订单什么时候发货？",
    "杯子收到了有一点小划痕，可以换一个吗？",
    "我想申请退款，请问流程是什么",
    "我想投诉一下配送时间太长",
    "我马上要出差，能不能尽快处理",
    "买的垃圾袋有几个是破的",
    "我用工商银行卡付的款，显示扣款两次",
    "相机拍出来的照片曝光不足",
    "因为天气恶劣快递晚了几天，可以理解",
    "你好，发票抬头写错了，能重开吗",
    "耳机左边声音有点小",
    "衣服尺码偏大，想换小一号",
    "请帮我改一下收货地址",
    "紧急联系人写错了，怎么修改",
    "优惠券没有自动使用，请帮忙看看",
    "商品描述说是蓝色，收到的是绿色",
    "安装师傅还没联系我，请问大概什么时候来",
    "App 打开后有时候会闪退",
    "谢谢你们上次帮忙，这次又遇到一个小问题",
    "积分好像没有到账",
    "门店几点关门？我想过去取货",
    "说明书缺了一页，能发个电子版吗",
    "这个要求应该不过分吧，能否帮忙补发一个配件",
]

ANGRY_EN = [
    "This is unacceptable, I have waited three weeks.",
    "I am so angry, the parcel was thrown over the fence.",
    "Absolutely ridiculous service, nobody calls back.",
    "Your staff member was rude to me in front of my kids.",
    "This is a scam, you took my money and sent nothing.",
    "Worst shop I have ever dealt with.",
    "I'm fed up with your excuses.",
    "The cashier yelled at me for asking a question.",
    "I will contact my lawyer if this is not fixed.",
    "I'm going to sue you for this.",
    "Never again will I buy from you.",
    "What a joke of a company.",
    "Disgusting behaviour from your delivery driver.",
    "Terrible quality, it broke on the first day.",
    "I feel cheated: the price doubled at checkout.",
    "How dare you charge me twice and ignore my emails.",
    "I am really disappointed with how this was handled.",
    "Your support is useless, third time I write.",
    "I'm sick and tired of waiting.",
    "This is an absolute rip-off.",
    "I'll file a chargeback with my bank.",
    "Pathetic. Simply pathetic.",
    "Furious that my order was cancelled without a word.",
    "WHY DOES NOBODY ANSWER MY EMAILS",
    "Where is my order???!!!",
]

CALM_EN = [
    "My parcel has not arrived yet, could you check?",
    "There is an issue with my order number 1234.",
    "The tissue box was crushed in transit.",
    "Could you call me asap about the delivery time?",
    "It's urgent: I need the dress for a wedding on Saturday.",
    "I would like a refund for the second item, please.",
    "Hello, the invoice has the wrong address.",
    "The kettle I bought leaks from the bottom.",
    "Can I exchange the shoes for a smaller size?",
    "The app crashes when I open my orders.",
    "The colour is a bit different from the photo.",
    "I assume the delivery was delayed by the holiday?",
    "Please change my phone number on file.",
    "The shell of the remote control is cracked.",
    "Thanks for the quick help last time, one more question.",
    "My coupon was not applied at checkout.",
    "The manual is missing a page.",
    "Is the store open on Sunday?",
    "The technician has not called yet, when will he come?",
    "One of the plates arrived chipped.",
    "My loyalty points are not showing.",
    "I pursued this with the courier but they sent me to you.",
    "I ordered scampi but got prawns.",
    "The screen is a little darker than I expected.",
]


@pytest.mark.parametrize("text", ANGRY_ZH + ANGRY_EN)
def test_an_upset_customer_shows_signs(text: str) -> None:
    assert TRIAGE.agitation(text) >= 1, text


@pytest.mark.parametrize("text", CALM_ZH + CALM_EN)
def test_a_calm_customer_raises_no_alarm(text: str) -> None:
    assert TRIAGE.agitation(text) == 0, text


def test_each_language_has_enough_phrasings() -> None:
    for phrasings in (ANGRY_ZH, CALM_ZH, ANGRY_EN, CALM_EN):
        assert len(set(phrasings)) >= 20


def test_several_signs_add_up() -> None:
    assert TRIAGE.agitation("你们太差了！！！快递十天还没到") == 2
    assert TRIAGE.agitation("THIS IS UNACCEPTABLE!!!") == 3


def test_english_signs_are_whole_words_and_configured_words_replace_the_built_in_ones() -> None:
    assert TRIAGE.agitation("I will sue") == 1
    assert TRIAGE.agitation("an issue with the tissue") == 0
    own = Triage(angry_words=("很慢", "slow"))
    assert own.agitation("快递很慢") == 1 and own.agitation("so SLOW") == 1
    assert own.agitation("太差了") == 0
    assert Triage(angry_words=()).agitation("太差了") == 0
