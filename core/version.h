// Ember's version and the git revision it was built from (generated at build time).
#pragma once

namespace ember {

const char* version_string();
const char* git_revision();

}  // namespace ember
