"""From program text to closures: security scan, static facts, statements, expressions, classes."""

from .frame import Frame, UserFunction
from .program import BREAK, CONTINUE, RETURN, Program, compile_program

__all__ = ["compile_program", "Program", "Frame", "UserFunction", "BREAK", "CONTINUE", "RETURN"]
