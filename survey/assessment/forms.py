"""Forms of the assessment pages; all carry CSRF protection through FlaskForm.

Numbers are taken as text and parsed by the services, which word the Vietnamese message
(decimal comma, non-numeric figures, zero denominators) the same way for every caller.
"""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, HiddenField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, Optional


class ActionForm(FlaskForm):
    """A button that only needs CSRF protection (start, open, submit)."""


class EntryForm(FlaskForm):
    level = StringField("Mức đánh giá", validators=[Length(max=4)])
    numerator = StringField("Tử số", validators=[Length(max=40)])
    denominator = StringField("Mẫu số", validators=[Length(max=40)])
    explanation = TextAreaField("Giải trình", validators=[Length(max=10000)])


class EvidenceForm(FlaskForm):
    file = FileField("Tệp")
    number = StringField("Số, ký hiệu", validators=[Length(max=100)])
    issued_on = DateField("Ngày ban hành", validators=[Optional()])
    issuer = StringField("Cơ quan ban hành", validators=[Length(max=255)])
    summary = TextAreaField("Trích yếu", validators=[Length(max=2000)])
    codes = SelectMultipleField("Tiêu chí được chứng minh", choices=[], validate_choice=False)


class LinkForm(FlaskForm):
    document_id = StringField("Tài liệu", validators=[Length(max=12)])


class ReturnForm(FlaskForm):
    comment = TextAreaField("Ý kiến", validators=[Length(max=5000)])


class AppraisalForm(FlaskForm):
    points = StringField("Điểm thẩm định", validators=[Length(max=20)])
    reason = TextAreaField("Lý do", validators=[Length(max=5000)])
    version = HiddenField()


class CommentForm(FlaskForm):
    body = TextAreaField("Ý kiến", validators=[Length(max=5000)])


class CloseForm(FlaskForm):
    name = StringField("Tên phiên bản", validators=[Length(max=255)])


class OfficialResultsForm(FlaskForm):
    file = FileField("Tệp kết quả của Bộ Nội vụ (.xlsx, .csv)")
