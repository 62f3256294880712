from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from survey.collection.models import QUOTA_ACCEPT, QUOTA_REFUSE


class PointForm(FlaskForm):
    name = StringField("Tên điểm khảo sát", validators=[DataRequired("Vui lòng nhập tên điểm khảo sát."),
                                                        Length(max=255, message="Tên dài quá 255 ký tự.")])
    place = StringField("Địa chỉ, vị trí", validators=[Optional(), Length(max=255, message="Địa chỉ dài quá 255 ký tự.")])
    group_id = SelectField("Phiếu (nhóm đối tượng)", coerce=int)
    quota = IntegerField("Số phiếu dự kiến", validators=[Optional(), NumberRange(min=1, message="Số phiếu dự kiến phải lớn hơn 0.")])
    quota_policy = SelectField("Khi đã đủ số phiếu", choices=[
        SelectChoice(QUOTA_ACCEPT, "Vẫn nhận thêm (và cho biết đã đủ)"),
        SelectChoice(QUOTA_REFUSE, "Ngừng nhận, báo rõ cho người dân")])
    asks_dossier = BooleanField("Mỗi hồ sơ chỉ đánh giá một lần (người dân nhập mã hồ sơ)")


class ProceduresUploadForm(FlaskForm):
    file = FileField("Tệp danh mục thủ tục (.xlsx hoặc .csv)", validators=[FileRequired("Vui lòng chọn tệp.")])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
