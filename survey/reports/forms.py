"""Staff forms of the reports area."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length


class FreezeForm(FlaskForm):
    """Name the computation to freeze; the options travel as hidden fields from the page shown."""

    name = StringField("Tên kết quả chính thức", validators=[
        DataRequired("Vui lòng đặt tên cho kết quả chính thức."),
        Length(max=255, message="Tên dài tối đa 255 ký tự."),
    ])
    dont_know = HiddenField()
    pooling = HiddenField()
    weighting = HiddenField()
    hidden_groups = HiddenField()
    min_cell = HiddenField()
