"""Every button a customer can press reads as words in the contact history."""

from __future__ import annotations

import pytest

from handlers.button_words import button_words
from handlers.i18n import load_all, use_locale


@pytest.mark.parametrize(
    ("data", "english", "chinese"),
    [
        ("lang:zh_CN", "language: 中文", "语言：中文"),
        ("consent:no", "care messages: no", "关怀消息：不要"),
        ("prof:phone", "change the phone number", "修改手机号"),
        ("forget:yes", "erase my data: yes", "删除我的数据：删除"),
        ("cx:file:go", "file a complaint", "开始投诉"),
        ("cx:file:edit", "edit the description", "修改描述"),
        ("cx:cat:delivery", "complaint about: Delivery", "投诉类别：配送"),
        ("cx:dup:add:12", "the same problem as the open complaint", "与未结投诉是同一个问题"),
        ("cx:dup:new", "a new problem, not the open complaint", "是新问题，不是未结的投诉"),
        ("cx:rate:12:4", "rating 4/5", "评分 4/5"),
        ("cx:reopen:12", "reopen my complaint", "重新打开我的投诉"),
        (
            "faq:ok:refund-timing",
            "the FAQ's answer refund-timing helped",
            "常见问题回答 refund-timing 有帮助",
        ),
        (
            "faq:ask:refund-timing",
            "ask a person after the FAQ's answer refund-timing",
            "看过常见问题回答 refund-timing 后转人工",
        ),
        ("faq:pick:order-cancel", "the FAQ entry order-cancel", "常见问题条目 order-cancel"),
        ("faq:none", "none of the FAQ's suggestions, ask a person", "常见问题推荐都不对，转人工"),
        ("faq:ok:Bad_Id", "an unknown button (faq:ok:Bad_Id)", "未知按钮（faq:ok:Bad_Id）"),
        ("lang:xx", "an unknown button (lang:xx)", "未知按钮（lang:xx）"),
        (
            "staff:resolve:C-1",
            "an unknown button (staff:resolve:C-1)",
            "未知按钮（staff:resolve:C-1）",
        ),
    ],
)
def test_button_data_reads_as_what_the_customer_chose(
    data: str, english: str, chinese: str
) -> None:
    load_all()
    with use_locale("en"):
        assert button_words(data) == f"pressed “{english}”"
    with use_locale("zh_CN"):
        assert button_words(data) == f"点击了“{chinese}”"
