"""Emoji in the playground are drawn in colour, not as boxes ("tofu").

The page draws an emoji with its own font stack on a canvas and counts coloured pixels:
a colour emoji font (Debian's fonts-noto-color-emoji, which `make browser-deps`
installs) gives many, a missing glyph's box or a black-and-white glyph none. The second
test shows that the count sees the difference, by starting Chromium with a fontconfig
that knows only DejaVu.
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, async_playwright

from tests.browser.conftest import CHROMIUM_ARGS

EMOJI = "😀🐼🌕"
COLOURED = """
(text) => {
  const canvas = document.createElement("canvas");
  canvas.width = 240;
  canvas.height = 80;
  const context = canvas.getContext("2d");
  context.font = `56px ${getComputedStyle(document.body).fontFamily}`;
  context.fillText(text, 4, 62);
  const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
  let coloured = 0;
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
    if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 80) coloured += 1;
  }
  return coloured;
}
"""
ENOUGH = 300  # of 240×80 pixels: three emoji fill far more than that in colour


async def test_emoji_render_in_colour_in_the_playground(page: Page) -> None:
    coloured = await page.evaluate(COLOURED, EMOJI)
    await page.locator(".avatar.bot").screenshot(path="/tmp/playground-emoji.png")

    assert coloured > ENOUGH, (
        f"{EMOJI} drew {coloured} coloured pixels: the emoji are boxes; "
        "install the colour emoji font (make browser-deps: fonts-noto-color-emoji)"
    )


async def test_the_check_sees_boxes_without_a_colour_emoji_font(
    chromium: Path, tmp_path: Path
) -> None:
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
        "<fontconfig><dir>/usr/share/fonts/truetype/dejavu</dir>"
        f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>\n",
        encoding="utf-8",
    )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium),
            args=CHROMIUM_ARGS,
            env={"FONTCONFIG_FILE": str(config), "HOME": str(tmp_path)},
        )
        try:
            blank = await browser.new_page()
            await blank.set_content("<body style='font-family: sans-serif'></body>")
            coloured = await blank.evaluate(COLOURED, EMOJI)
        finally:
            await browser.close()

    assert coloured < ENOUGH / 10
