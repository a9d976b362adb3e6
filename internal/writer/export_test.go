package writer

// LingerFill is lingerFill, for the external tests.
const LingerFill = lingerFill
