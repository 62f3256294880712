from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DecimalField, HiddenField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, Optional, Regexp

from survey.samples.sampling import DEFAULT_MARGIN
from survey.samples.services import SMS_TARGETS


class DrawForm(FlaskForm):
    file = FileField("Sổ hồ sơ đã trả kết quả (.xlsx hoặc .csv)", validators=[FileRequired("Vui lòng chọn tệp.")])
    size = IntegerField("Cỡ mẫu (để trống: tính theo công thức n = N / (1 + N·e²))", validators=[
        Optional(), NumberRange(min=1, message="Cỡ mẫu phải lớn hơn 0.")])
    margin = DecimalField("Sai số e của công thức", default=DEFAULT_MARGIN, places=3, validators=[
        InputRequired("Vui lòng nhập sai số e."),
        NumberRange(min=0.005, max=0.2, message="Sai số e phải từ 0,005 đến 0,2.")])
    seed = StringField("Hạt giống (seed; để trống: hệ thống tự chọn và ghi lại)", validators=[
        Optional(), Regexp(r"^\s*[0-9]{1,40}\s*$", message="Hạt giống là một dãy chữ số, tối đa 40 chữ số.")])


class InviteForm(FlaskForm):
    confirmed = HiddenField()  # the number of e-mails the page announced


class SmsForm(FlaskForm):
    target = SelectField("Gửi cho", choices=[SelectChoice(k, v) for k, v in SMS_TARGETS.items()])
    fmt = SelectField("Định dạng tệp", choices=[SelectChoice("csv", "CSV (UTF-8)"), SelectChoice("xlsx", "Excel (.xlsx)")])
    confirmed = IntegerField(validators=[InputRequired("Thiếu số người đã xác nhận.")])
